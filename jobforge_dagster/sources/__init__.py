"""The source folder: the one walker over it (`scan`), the tables a code location has and the file that feeds
each (`tables`), files that arrive after loading (`arrivals`), a record read back by its line (`records`), and how
a CSV file is written (`dialect`: encoding, separator, header)."""

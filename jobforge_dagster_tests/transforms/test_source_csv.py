"""Bad input: each case ends in a clear error naming file (and line, row, column where they apply) or in
quarantine, the source file is never changed, and previous good outputs stay as they were."""

import hashlib
import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from jobforge_dagster.batches.opening import OpenedSource, open_batch
from jobforge_dagster.build.output import LayerOutput
from jobforge_dagster.catalog.models import BatchRecord, CatalogEntry, TransitionFacts
from jobforge_dagster.catalog.store import CatalogManager
from jobforge_dagster.errors import SourceChangedError, SourceDataError
from jobforge_dagster.layers import QUARANTINE_REASON, Layer
from jobforge_dagster.orchestration.io_manager import LayerIOManager
from jobforge_dagster.orchestration.resources import DataRootResource, LineageResource
from jobforge_dagster.query.engine import GoldQueryEngine
from jobforge_dagster.registry.file import SourceRegistry
from jobforge_dagster.registry.spec import TableSpec
from jobforge_dagster.sources.tables import TableFiles
from jobforge_dagster.storage.data_root import DataRoot
from jobforge_dagster.storage.files import fingerprint, sha256_file
from jobforge_dagster.transforms import source_csv, staged
from jobforge_dagster.transforms.source_read import SourceRead
from jobforge_dagster_tests.conftest import bounded, run_job

NOC = "Code,Title,Employment\n00010,Legislators,4700\n00011,Senior government managers,9000\n"


class Case:
    """A data root with one source file, run through the main job."""

    def __init__(self, tmp_path: Path, name: str, content: bytes | str, *tables: TableSpec) -> None:
        self.config = DataRoot(data_root=str(tmp_path / "data"))
        self.source = self.config.source_dir() / name
        self.source.parent.mkdir(parents=True, exist_ok=True)
        self.source.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        self.digest = hashlib.sha256(self.source.read_bytes()).hexdigest()
        self.registry = SourceRegistry(tables=list(tables))

    def run(self) -> dg.ExecuteInProcessResult:
        result = run_job(self.config, self.registry, raise_on_error=False)
        assert hashlib.sha256(self.source.read_bytes()).hexdigest() == self.digest, "the source file changed"
        visible = [p for p in self.config.root.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
        assert visible == [], "a temporary file was left behind"
        return result

    def error(self) -> str:
        result = self.run()
        assert not result.success
        data = result.get_step_failure_events()[0].step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:  # JobForge's own message
            return data.user_failure_data.description
        failure = data.error
        while failure.cause is not None and "SourceDataError" not in failure.cls_name:
            failure = failure.cause
        return failure.message.removeprefix(f"jobforge_dagster.errors.{failure.cls_name}: ").strip()

    def gold(self, table: str) -> pl.DataFrame:
        return pl.read_parquet(self.config.table_path(Layer.GOLD, table))


def test_empty_file(tmp_path: Path) -> None:
    error = Case(tmp_path, "empty.csv", b"").error()
    assert "source/empty.csv: the file is empty (0 bytes)" in error


def test_header_only_file_gives_empty_tables(tmp_path: Path) -> None:
    case = Case(tmp_path, "header_only.csv", "Code,Title\n")
    assert case.run().success
    gold = case.gold("header_only")
    assert gold.height == 0 and gold.columns[:2] == ["code", "title"]


def test_byte_order_mark_is_stripped(tmp_path: Path) -> None:
    case = Case(tmp_path, "bom.csv", b"\xef\xbb\xbf" + NOC.encode())
    assert case.run().success
    staged = pl.read_parquet(case.config.table_path(Layer.STAGED, "bom"))
    assert staged.columns[0] == "Code" and staged["Code"][0] == "00010"


def test_windows_1252_declared_is_decoded(tmp_path: Path) -> None:
    content = "Code,Titre\n00010,Membres des corps législatifs\n00012,Cadres supérieurs – finances\n"
    spec = TableSpec(name="fr", pattern="fr.csv", encoding="cp1252")
    case = Case(tmp_path, "fr.csv", content.encode("cp1252"), spec)
    assert case.run().success
    assert case.gold("fr")["titre"].to_list() == ["Membres des corps législatifs", "Cadres supérieurs – finances"]


def test_latin1_undeclared_is_an_encoding_error_with_its_line(tmp_path: Path) -> None:
    content = "Code,Titre\n00010,Membres des corps législatifs\n".encode("latin-1")
    error = Case(tmp_path, "fr.csv", content).error()
    assert error == (
        "source/fr.csv, line 2: not valid UTF-8: byte 0xE9 in b',Membres des corps l\\xe9gislatifs'; it is most "
        "likely cp1252: declare `encoding: cp1252` in its registry entry"
    )


def test_too_many_fields(tmp_path: Path) -> None:
    error = Case(tmp_path, "ragged.csv", "Code,Title\n00010,Legislators\n00011,Senior,extra\n").error()
    expected = "source/ragged.csv, line 3 (record 2): expected 2 fields, found 3 (line starts '00011,Senior,extra')"
    assert error == expected


def test_too_few_fields(tmp_path: Path) -> None:
    error = Case(tmp_path, "short.csv", "Code,Title,Teer\n00010,Legislators,0\n00011,Senior\n").error()
    assert error == "source/short.csv, line 3 (record 2): expected 3 fields, found 2 (line starts '00011,Senior')"


def test_large_file_path_validates_on_its_own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over SHARED_VALIDATION_MAX_BYTES get a DuckDB database of their own: same errors."""
    monkeypatch.setattr(source_csv, "SHARED_VALIDATION_MAX_BYTES", 0)
    case = Case(tmp_path, "short.csv", "Code,Title,Teer\n00010,Legislators,0\n00011,Senior\n")
    expected = "source/short.csv, line 3 (record 2): expected 3 fields, found 2 (line starts '00011,Senior')"
    assert case.error() == expected
    assert Case(tmp_path / "good", "noc.csv", NOC).run().success


def test_invalid_file_is_a_failed_transition_of_its_batch(tmp_path: Path) -> None:
    """The file is hashed while it is validated; the failure is still logged against its batch."""
    case = Case(tmp_path, "ragged.csv", "Code,Title\n00010,Legislators\n00011,Senior,extra\n")
    assert not case.run().success
    catalog = CatalogManager(case.config)
    (log,) = catalog.get_lineage_logs()
    assert (log.source_layer, log.target_layer, log.status) == ("source", "staged", "failed")
    assert log.batch_id == f"ragged-{case.digest[:12]}"
    assert "line 3 (record 2): expected 2 fields, found 3" in log.errors[0]
    assert catalog.get_batch(log.batch_id).sha256 == case.digest


def test_unterminated_quote(tmp_path: Path) -> None:
    error = Case(tmp_path, "quote.csv", 'Code,Title\n00010,"Legislators\n00011,Senior\n').error()
    assert error.startswith("source/quote.csv, line 2 (record 1): a quoted field is never closed")


def test_duplicate_header_names(tmp_path: Path) -> None:
    error = Case(tmp_path, "dup.csv", "Code,Title,Code\n1,2,3\n").error()
    assert error == "source/dup.csv, line 1: duplicate header name 'Code' in columns 1 and 3"


def test_missing_required_column(tmp_path: Path) -> None:
    spec = TableSpec(name="noc", pattern="noc.csv", required_columns=["code", "title", "teer"])
    error = Case(tmp_path, "noc.csv", NOC, spec).error()
    assert error.startswith("source/noc.csv: required columns missing: ['teer']")


def test_registry_column_absent_from_file(tmp_path: Path) -> None:
    spec = TableSpec(name="noc", pattern="noc.csv", types={"teer": "int8"})
    error = Case(tmp_path, "noc.csv", NOC, spec).error()
    assert error.startswith("source/noc.csv: header does not match the registry") and "teer" in error


@pytest.mark.parametrize("policy", ["warn", "fail"])
def test_schema_drift_reported_and_registry_decides(tmp_path: Path, policy: str) -> None:
    spec = TableSpec(name="noc", pattern="noc.csv", schema_drift=policy)
    case = Case(tmp_path, "noc.csv", NOC, spec)
    assert case.run().success
    before = case.gold("noc")
    case.source.write_text("Code,Title,Teer\n00010,Legislators,0\n")
    case.digest = hashlib.sha256(case.source.read_bytes()).hexdigest()
    result = case.run()
    if policy == "warn":
        assert result.success
        bronze = next(
            e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()
            if e.asset_key.to_user_string() == "bronze/noc"
        )
        assert bronze["schema_drift"].value == {"added": ["teer"], "removed": ["employment"]}
    else:
        assert not result.success
        assert case.gold("noc").equals(before)  # the last good gold is untouched


def test_binary_garbage_with_csv_name(tmp_path: Path) -> None:
    error = Case(tmp_path, "garbage.csv", bytes(range(256)) * 64).error()
    assert error.startswith("source/garbage.csv")
    assert "not a text file" in error or "not valid UTF-8" in error or "not a parseable CSV" in error


def test_field_of_several_megabytes(tmp_path: Path) -> None:
    big = "x" * 5_000_000
    case = Case(tmp_path, "wide.csv", f'Code,Text\n00010,"{big}"\n00011,short\n')
    assert case.run().success
    assert case.gold("wide")["text"].to_list() == [big, "short"]


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("NOC 2021 (final).csv", "noc_2021_final"),
        ('it\'s "quoted".csv', "it_s_quoted"),
        ("x; DROP TABLE gold; --.csv", "x_drop_table_gold"),
        ("métiers été.csv", "metiers_ete"),
        ("2021.csv", "t_2021"),
    ],
)
def test_awkward_file_names(tmp_path: Path, name: str, table: str) -> None:
    case = Case(tmp_path, name, NOC)
    assert case.run().success
    with GoldQueryEngine(case.config) as engine:
        assert engine.list_tables() == [table]
        files = engine.query(f'SELECT DISTINCT _source_file FROM "{table}"')["_source_file"].to_list()
    assert files == [f"source/{name}"]


def test_symlink_out_of_the_data_root_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(NOC)
    case = Case(tmp_path, "inside.csv", NOC)
    link = case.source.with_name("link.csv")
    os.symlink(outside, link)
    assert case.run().success  # the link gets no table: refused before any read, and logged
    assert any(message.startswith("source/link.csv: refused: a symbolic link") for message in caplog.messages)
    assert case.gold("inside").height == 2  # the other table still loads
    assert not case.config.table_path(Layer.STAGED, "link").exists()
    case.registry = SourceRegistry(tables=[TableSpec(name="link", pattern="link.csv")])
    with pytest.raises(SourceDataError, match="source/link.csv: refused: a symbolic link to .*elsewhere.csv, outside"):
        files = TableFiles(case.registry.tables[0], case.config.source_dir())
        open_batch(files, case.config, CatalogManager(case.config))


def test_value_that_fails_its_type(tmp_path: Path) -> None:
    spec = TableSpec(name="emp", pattern="emp.csv", types={"employment": "int64"})
    error = Case(tmp_path, "emp.csv", "Code,Employment\n00010,4700\n00011,N/A\n", spec).error()
    assert error == "source/emp.csv, line 3 (record 2), column 'Employment': value 'N/A' is not a valid Int64"


def test_duplicate_keys_go_to_quarantine(tmp_path: Path) -> None:
    spec = TableSpec(name="noc", pattern="noc.csv", key_columns=["code"])
    case = Case(tmp_path, "noc.csv", NOC + "00010,Legislators again,1\n", spec)
    assert case.run().success
    assert case.gold("noc")["code"].to_list() == ["00010", "00011"]
    quarantine = pl.read_parquet(next(case.config.root.glob("quarantine/noc/*.parquet")))
    assert quarantine["_source_row"].to_list() == [3]
    assert quarantine[QUARANTINE_REASON].to_list() == ["duplicate key (code): an earlier row has it"]


def test_file_replaced_while_it_is_read(tmp_path: Path) -> None:
    """The staged write is abandoned when the source changes under it; the previous staged file stays."""
    case = Case(tmp_path, "noc.csv", NOC)
    assert case.run().success
    staged_path = case.config.table_path(Layer.STAGED, "noc")
    before = staged_path.read_bytes()
    source = OpenedSource(
        path=case.source,
        batch=BatchRecord(batch_id="noc-x", table="noc", source_file="source/noc.csv", sha256="0" * 64, size_bytes=0),
        fingerprint=fingerprint(case.source),
        read=SourceRead(pl.LazyFrame(), records=2),
    )
    facts = TransitionFacts(
        table="noc",
        target_layer="staged",
        batch_id="noc-x",
        source_sha256="0" * 64,
        source_layer="source",
        source_files=["source/noc.csv"],
        rows_in=2,
    )

    def replace_source(batch: pl.DataFrame) -> pl.DataFrame:
        replacement = case.source.with_name(".replacement")
        replacement.write_text(NOC + "00012,Senior managers - finance,1\n")
        os.replace(replacement, case.source)  # another program swaps the file mid-read
        return batch

    @dg.asset(key=["staged", "noc"])
    def staged_noc() -> LayerOutput:
        frame = pl.scan_csv(case.source, infer_schema=False).map_batches(replace_source)
        return LayerOutput(frame, facts, CatalogEntry(), guard=source.guard)

    root = DataRootResource.of(case.config)
    result = dg.materialize(
        [staged_noc],
        resources={"io_manager": LayerIOManager(data_root=root, lineage=LineageResource(data_root=root))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert SourceChangedError.__name__ in str(error) and "changed while it was being read" in str(error)
    assert staged_path.read_bytes() == before


def test_unterminated_quote_in_the_header(tmp_path: Path) -> None:
    """Accepted before: the header swallowed the file and gold became an empty one-column table."""
    error = Case(tmp_path, "quote.csv", '"a,b\n1,2\n').error()
    assert error == "source/quote.csv, line 1: a quoted field of the header is never closed (unterminated quote)"


def test_error_line_is_the_physical_line_after_records_spanning_lines(tmp_path: Path) -> None:
    """DuckDB numbers records; the reported line counts the newlines inside earlier quoted fields."""
    content = 'Code,Title\n00010,"Legislators\nand\nmembers"\n00011,Senior\n00012,x,extra\n'
    error = Case(tmp_path, "ragged.csv", content).error()
    assert error == "source/ragged.csv, line 6 (record 3): expected 2 fields, found 3 (line starts '00012,x,extra')"
    unterminated = Case(tmp_path / "q", "q.csv", 'a,b\n1,"x\ny"\n2,"3\n').error()
    assert unterminated.startswith("source/q.csv, line 4 (record 2): a quoted field is never closed")


def test_cr_only_line_endings(tmp_path: Path) -> None:
    error = Case(tmp_path, "mac.csv", "Code,Title,Teer,Jobs\r00010,Legislators,0,1\r").error()
    assert error.startswith("source/mac.csv, line 1: lines end with a carriage return alone (CR); save the file")


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"Code,Title\r\n00010,A\r\n00011,B\r", 3),  # CRLF lines, the last one ending with CR alone
        (b"Code,Title\n00010,A\n00011,B\r", 3),
        (b"Code,Title\n00010,A\r00011,B\n", 2),
    ],
)
def test_a_carriage_return_alone_ending_any_line_is_refused(tmp_path: Path, content: bytes, line: int) -> None:
    """Before: a CRLF file whose last line ended with CR alone was accepted; the others failed without a line."""
    error = Case(tmp_path, "cr.csv", content).error()
    assert error.startswith(f"source/cr.csv, line {line}: lines end with a carriage return alone (CR); save the file")


def test_a_final_carriage_return_is_refused_in_a_declared_encoding(tmp_path: Path) -> None:
    spec = TableSpec(name="cr", pattern="cr.csv", encoding="latin-1")
    error = Case(tmp_path, "cr.csv", "Code,Title\r\n00010,Café\r".encode("latin-1"), spec).error()
    assert error.startswith("source/cr.csv, line 2: lines end with a carriage return alone (CR)")


def test_stray_quote_inside_an_unquoted_field(tmp_path: Path) -> None:
    error = Case(tmp_path, "stray.csv", 'a,b\n1,"x\ny"\n1,2"x\n3,4\n').error()
    assert error.startswith("source/stray.csv, line 4: a quote inside an unquoted field")


def test_quotes_inside_quoted_fields_are_data(tmp_path: Path) -> None:
    case = Case(tmp_path, "q.csv", 'a,b\n1,"say ""hi""\n, ok"\n2,"x"\n')
    assert case.run().success
    assert case.gold("q")["b"].to_list() == ['say "hi"\n, ok', "x"]


@pytest.mark.parametrize(("content", "line"), [("a,b\n1,2\n\n3,4\n", 3), ('a,b\n1,"x\n\ny"\n2,3\n\n', 6)])
def test_blank_line_in_a_csv(tmp_path: Path, content: str, line: int) -> None:
    """A blank line inside a quoted field is data; elsewhere it is refused with its line."""
    error = Case(tmp_path, "blank.csv", content).error()
    assert error == f"source/blank.csv, line {line}: a blank line: a CSV record cannot be empty"


def test_csv_with_thousands_of_columns(tmp_path: Path) -> None:
    columns = 4_200
    header = ",".join(f"c{i}" for i in range(columns))
    rows = "\n".join(",".join(str(row * i) for i in range(columns)) for row in range(3))
    path = tmp_path / "wide.csv"
    path.write_text(f"{header}\n{rows}\n")
    read = staged.read_source(path, TableSpec(name="wide", pattern="wide.csv"), "source/wide.csv")
    assert read.records == 3 and read.frame.collect().width == columns + 1  # with _source_line
    path.write_text(",".join(f"c{i}" for i in range(source_csv.MAX_COLUMNS + 1)) + "\n1\n")
    with pytest.raises(
        SourceDataError, match=r"source/wide.csv, line 1: the header has 10001 columns; .* at most 10000"
    ):
        staged.read_source(path, TableSpec(name="wide", pattern="wide.csv"), "source/wide.csv")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"a": 1}\n{"a": nul}\n', "source/bad.jsonl, line 2: not valid JSON: Expecting value: line 1 column 7"),
        (
            b'{"a": 1}\n{"a": {"b": 1}}\n',
            "source/bad.jsonl, line 2: field 'a' holds an object here but a number on line 1",
        ),
        (b'{"a": 1}\n[1, 2]\n', "source/bad.jsonl, line 2: not a JSON object but an array"),
        (b'{"a": 1}\n\n{"a": 2}\n', "source/bad.jsonl, line 2: a blank line: each line must hold one JSON object"),
    ],
)
def test_bad_json_lines(tmp_path: Path, content: bytes, expected: str) -> None:
    assert Case(tmp_path, "bad.jsonl", content).error().startswith(expected)


def test_good_json_lines_reach_gold_with_their_lines(tmp_path: Path) -> None:
    case = Case(tmp_path, "j.jsonl", b'{"code": "00010", "n": 1}\n{"code": "00011", "n": null}\n')
    assert case.run().success
    assert case.gold("j")[["code", "_source_line"]].rows() == [("00010", 1), ("00011", 2)]


def test_bad_parquet(tmp_path: Path) -> None:
    error = Case(tmp_path, "bad.parquet", b"PAR1 not really parquet PAR1").error()
    assert error.startswith("source/bad.parquet: not a readable parquet file (File out of specification")


def test_bad_input_is_a_dagster_failure_with_the_message_on_top(tmp_path: Path) -> None:
    """The UI shows a Failure's description above the traceback: JobForge's message, with file and line as metadata."""
    case = Case(tmp_path, "short.csv", "a,b,c\n1,2,3\n4,5\n")
    result = case.run()
    failure = result.get_step_failure_events()[0].step_failure_data
    assert (
        failure.user_failure_data.description
        == "source/short.csv, line 3 (record 2): expected 3 fields, found 2 (line starts '4,5')"
    )
    metadata = {key: value.value for key, value in failure.user_failure_data.metadata.items()}
    assert metadata == {"file": "source/short.csv", "line": 3, "record": 2}
    assert "null_padding" not in failure.error.message and "strict mode" not in failure.error.message


def test_gold_that_fails_a_blocking_check_is_not_published(tmp_path: Path) -> None:
    """The new gold is checked before it replaces the last good one: a failing blocking check sets it aside,
    logs the gold transition as failed, and the batch does not count as loaded."""
    spec = TableSpec(name="codes", pattern="codes.csv", checks={"code_formats": {"code": r"\d{5}"}})
    case = Case(tmp_path, "codes.csv", "Code,Title\n00010,Legislators\n", spec)
    assert case.run().success
    published = case.config.table_path(Layer.GOLD, "codes").read_bytes()
    case.source.write_text("Code,Title\n00010,Legislators\nABC,Not a code\n")
    case.digest = hashlib.sha256(case.source.read_bytes()).hexdigest()
    result = case.run()
    assert not result.success
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "conformance"]
    assert not evaluation.passed and "code_format_code" in evaluation.description
    assert case.config.table_path(Layer.GOLD, "codes").read_bytes() == published, "the last good gold stays"
    new_batch = f"codes-{case.digest[:12]}"
    rejected = case.config.root / "rejected" / "codes" / f"{new_batch}.parquet"
    assert pl.read_parquet(rejected)["code"].to_list() == ["00010", "ABC"]
    (failed,) = [log for log in CatalogManager(case.config).get_lineage_logs() if log.status.value == "failed"]
    assert (failed.target_layer, failed.batch_id) == ("gold", new_batch)
    assert "blocking checks failed: conformance" in failed.errors[0]
    from jobforge_dagster.orchestration.sensors import gold_state

    assert gold_state(case.config, spec)[0] != new_batch, "not loaded: the sensor will offer these bytes again"


def rewrite_in_place_keeping_size_and_mtime(path: Path) -> None:
    """What an editor saving in place within the same clock tick does: same inode, size and mtime, new bytes."""
    status = path.stat()
    content = path.read_bytes()
    with open(path, "r+b") as handle:
        handle.write(content.replace(b"4700", b"4800"))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size and path.stat().st_mtime_ns == status.st_mtime_ns


@pytest.mark.parametrize("moment", ["read_source", "add_provenance"])
def test_source_rewritten_in_place_during_a_run_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """Before: gold labelled with the sha256 of bytes it does not hold. `read_source` is while the batch is
    hashed; `add_provenance` after it was archived (a hard link, the default) and before staged is written."""
    case = Case(tmp_path, "noc.csv", NOC)
    assert case.run().success  # a normal run, default link archive
    case.source.write_text(NOC.replace("Legislators", "Legislators and councillors"))
    case.digest = hashlib.sha256(case.source.read_bytes()).hexdigest()
    original = getattr(staged, moment)

    def rewrite_then(*args: object) -> object:
        result = original(*args)
        rewrite_in_place_keeping_size_and_mtime(case.source)
        case.digest = hashlib.sha256(case.source.read_bytes()).hexdigest()
        return result

    monkeypatch.setattr(staged, moment, rewrite_then)
    result = case.run()
    assert not result.success
    assert "changed while it was being read" in str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "Legislators and councillors" not in case.gold("noc")["title"].to_list()[0]


def test_fifo_or_device_matching_a_table_is_refused_without_blocking(tmp_path: Path) -> None:
    """Before: a FIFO matched no file (a silent "nothing to do"), and hashing one blocked for good."""
    case = Case(tmp_path, "noc.csv", NOC)
    source = case.config.source_dir()
    os.mkfifo(source / "pipe.csv")
    os.symlink("/dev/zero", source / "zero.csv")
    expected = {
        "pipe": "source/pipe.csv: refused: not a regular file (a FIFO)",
        "zero": "source/zero.csv: refused: a symbolic link to /dev/zero, outside the source folder",
    }
    catalog = CatalogManager(case.config)
    for table, message in expected.items():
        files = TableFiles(TableSpec(name=table, pattern=f"{table}.csv"), case.config.source_dir())
        with pytest.raises(SourceDataError) as raised:
            bounded(lambda files=files: open_batch(files, case.config, catalog))
        assert str(raised.value).startswith(message)
    with pytest.raises(OSError, match="not a regular file"):
        bounded(lambda: sha256_file(source / "pipe.csv"))
    assert bounded(case.run).success  # the other table still loads


def test_mixed_line_endings_name_the_first_line_that_differs(tmp_path: Path) -> None:
    """Before: 'not a parseable CSV (binary data, or quotes that break RFC 4180)', with no line."""
    case = Case(tmp_path, "m.csv", b"Code,Title\r\n00010,A\r\n00011,B\n")
    assert case.error() == (
        "source/m.csv, line 3: mixed line endings: line 1 ends with CRLF, this line with LF alone; "
        "save the file with one kind"
    )

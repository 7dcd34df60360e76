"""Corrupted variants of a valid landing file: none crashes the load, the good rows load, every
bad row is quarantined with a reason, and rows read = loaded + quarantined."""

import csv
import io
import json
from dataclasses import dataclass

import pytest

from orchestration import ingest

HEADER = [
    "invoice_id", "subscription_id", "customer_id", "currency", "amount_due", "amount_paid",
    "issued_at", "due_at", "paid_at", "status", "written_off_at", "billing_reason", "updated_at",
]  # fmt: skip
N = 8  # valid rows in the base file


def base_rows() -> list[list[str]]:
    return [
        [f"i{i}", "s1", "c1", "EUR", f"{10 + i}.50", "0", f"2026-02-0{i + 1}", f"2026-03-0{i + 1}",
         "", "open", "", "subscription_cycle", f"2026-02-0{i + 1}T00:00:00Z"]
        for i in range(N)
    ]  # fmt: skip


def to_csv(rows, header=HEADER, delimiter=",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@dataclass
class Variant:
    name: str
    content: bytes
    suffix: str = ".csv"
    loaded: int = N
    quarantined: int = 0
    rejected: bool = False


def _with_row(position: int, mutate) -> list[list[str]]:
    rows = base_rows()
    rows[position] = mutate(list(rows[position]))
    return rows


def _set(col: str, value: str):
    def mutate(row):
        row[HEADER.index(col)] = value
        return row

    return mutate


ROW_MUTATIONS = {
    # name: (mutation, is the row still valid?)
    "null_id": (_set("invoice_id", ""), False),
    "amount_text": (_set("amount_due", "twelve"), False),
    "amount_exponent": (_set("amount_due", "1.2e2"), True),  # a correct number, read as 120
    "amount_negative": (_set("amount_due", "-5"), False),
    "amount_thousands_sep": (_set("amount_due", "1,234.00"), False),
    "date_us_format": (_set("issued_at", "02/13/2026"), False),
    "date_year_9999": (_set("due_at", "9999-12-31"), False),
    "date_with_offset": (_set("issued_at", "2026-02-01T10:00:00+02:00"), True),
    "huge_field": (_set("billing_reason", "x" * 1_000_000), False),
    "unknown_currency": (_set("currency", "EURO"), False),
    "unknown_status": (_set("status", "semi-paid"), False),
    "orphan_customer": (_set("customer_id", "nobody"), False),
}


def variants() -> list[Variant]:
    out = []
    for name, (mutate, valid) in ROW_MUTATIONS.items():
        for position in (0, N // 2, N - 1):
            text = to_csv(_with_row(position, mutate))
            out.append(Variant(f"{name}@{position}", text.encode(), loaded=N - (not valid),
                               quarantined=int(not valid)))  # fmt: skip
    good = to_csv(base_rows())
    dup = base_rows()
    dup[3] = list(dup[2])  # the same id and version twice
    out += [
        Variant("truncated_last_line", good[: good.rstrip("\n").rfind(",") - 3].encode(),
                loaded=N - 1, quarantined=1),
        Variant("semicolon_delimiter", to_csv(base_rows(), delimiter=";").encode()),
        Variant("tab_delimiter", to_csv(base_rows(), delimiter="\t").encode()),
        Variant("utf8_bom", b"\xef\xbb\xbf" + good.encode()),
        Variant("latin1", good.replace("subscription_cycle", "subscription_cycle").encode("latin-1")),
        Variant("crlf_line_endings", good.replace("\n", "\r\n").encode()),
        Variant("duplicated_header", (good + ",".join(HEADER) + "\n").encode(), quarantined=1),
        Variant("duplicated_row", to_csv(dup).encode(), loaded=N - 1, quarantined=1),
        Variant("extra_column", to_csv([r + ["x"] for r in base_rows()], HEADER + ["note"]).encode()),
        Variant("missing_optional_column",
                to_csv([r[:-3] + r[-2:] for r in base_rows()], HEADER[:-3] + HEADER[-2:]).encode()),
        Variant("renamed_column_case_and_spaces",
                to_csv(base_rows(), [h.upper().replace("_", " ") for h in HEADER]).encode()),
        Variant("renamed_required_column",
                to_csv(base_rows(), ["id"] + HEADER[1:]).encode(), loaded=0, rejected=True),
        Variant("empty_file", b"", loaded=0),
        Variant("header_only", (",".join(HEADER) + "\n").encode(), loaded=0),
        Variant("binary_garbage", bytes(range(256)) * 4, loaded=0, rejected=True),
        Variant("garbage_parquet", b"PAR1 not really", suffix=".parquet", loaded=0, rejected=True),
        Variant("blank_lines", good.replace("\n", "\n\n").encode()),
    ]  # fmt: skip
    json_lines = [json.dumps(dict(zip(HEADER, r, strict=True))) for r in base_rows()]
    broken = list(json_lines)
    broken[4] = broken[4][:25]
    out += [
        Variant("jsonl_valid", "\n".join(json_lines).encode(), suffix=".jsonl"),
        Variant("jsonl_one_broken_line", "\n".join(broken).encode(), suffix=".jsonl",
                loaded=N - 1, quarantined=1),
        Variant("jsonl_not_an_object", ("\n".join(json_lines) + "\n[1, 2]\n").encode(),
                suffix=".jsonl", quarantined=1),
    ]  # fmt: skip
    return out


VARIANTS = variants()


def _parents(landing):
    (landing / "customers").mkdir(parents=True)
    (landing / "customers" / "c.csv").write_text(
        "customer_id,email,name,country,verification_status,created_at,updated_at\n"
        "c1,zoe@example.com,Zoë Müller,DE,verified,2026-01-01,2026-01-01\n"
    )
    (landing / "subscriptions").mkdir()
    (landing / "subscriptions" / "s.csv").write_text(
        "subscription_id,customer_id,plan,billing_interval,amount,currency,status,started_at,"
        "canceled_at,cancel_reason,updated_at\ns1,c1,growth,month,49,EUR,active,2026-01-01,,,2026-01-01\n"
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_corrupted_variant(variant, tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected"
    _parents(landing)
    with ingest.connect(tmp_path / "w.duckdb") as con:
        ingest.load_entity(con, "customers", landing, rejected)
        ingest.load_entity(con, "subscriptions", landing, rejected)
        path = landing / "invoices" / f"drop{variant.suffix}"
        path.parent.mkdir()
        path.write_bytes(variant.content)

        report = ingest.load_entity(con, "invoices", landing, rejected)

        (file,) = report.files
        assert file.rows_read == file.rows_loaded + file.rows_quarantined + file.rows_already_loaded
        assert (file.rows_loaded, file.rows_quarantined) == (variant.loaded, variant.quarantined)
        assert (file.status == "rejected") == variant.rejected
        (in_raw,) = con.execute("select count(*) from raw.invoices").fetchone()
        assert in_raw == variant.loaded
        reasons = con.execute("select reason, source_file from raw._quarantine").fetchall()
        assert len(reasons) == variant.quarantined
        assert all(
            reason and source == f"invoices/drop{variant.suffix}" for reason, source in reasons
        )
        if variant.rejected:
            assert (rejected / "invoices" / f"drop{variant.suffix}.error.txt").exists()
        # Loading again changes nothing.
        assert ingest.load_entity(con, "invoices", landing, rejected).files == []
        assert con.execute("select count(*) from raw.invoices").fetchone()[0] == in_raw


def test_exponent_amount_is_read_as_its_value_and_latin1_name_survives(tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected"
    _parents(landing)
    latin1 = (landing / "customers" / "c.csv").read_text().replace("c1,", "c2,").encode("latin-1")
    (landing / "customers" / "latin1.csv").write_bytes(latin1)
    with ingest.connect(tmp_path / "w.duckdb") as con:
        ingest.load_entity(con, "customers", landing, rejected)
        names = con.execute("select customer_id, name from raw.customers order by 1").fetchall()
        assert names == [("c1", "Zoë Müller"), ("c2", "Zoë Müller")]


def test_the_fuzz_covers_many_variants():
    assert len(VARIANTS) >= 50

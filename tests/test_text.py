"""One accent fold, one DANE-code normaliser, one CSV reader (app/domain/text.py, issue 20)."""

import pytest

from app.domain.text import DEPARTMENT_DIGITS, FileRefused, csv_records, dane_code, fold, read_csv


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Córdoba", "cordoba"),
        ("BOGOTÁ, D.C.", "bogota, d.c."),
        ("Nariño", "narino"),
        ("San Andrés", "san andres"),
        ("Straße", "strasse"),  # casefold, not lower
        ("x²", "x2"),  # compatibility forms fold too
        (None, ""),
    ],
)
def test_fold_ignores_case_and_accents(typed, folded):
    assert fold(typed) == folded


def test_fold_sorts_spanish_names_as_people_expect():
    names = ["Cundinamarca", "Córdoba", "Cesar", "Chocó"]
    assert sorted(names, key=fold) == ["Cesar", "Chocó", "Córdoba", "Cundinamarca"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("05001", "05001"),
        ("5001", "05001"),  # a spreadsheet dropped the leading zero
        (5001, "05001"),
        (5001.0, "05001"),  # an XLSX number cell
        (" 11001 ", "11001"),
        ("050010", None),  # six digits
        ("5001.5", None),
        (5001.5, None),
        ("", None),
        (None, None),
        (True, None),
        ("٠٥٠٠١", None),  # Arabic-Indic digits: str.isdigit() says yes
        ("5²", None),
        ("-5001", None),
    ],
)
def test_municipality_code(raw, code):
    assert dane_code(raw) == code


@pytest.mark.parametrize(("raw", "code"), [("5", "05"), ("05", "05"), (11, "11"), ("005", None), ("٥", None)])
def test_department_code(raw, code):
    assert dane_code(raw, DEPARTMENT_DIGITS) == code


def test_csv_with_bom_and_commas():
    rows = read_csv("\ufeffcode,name\n05001,Medellín\n".encode())
    assert rows == [(1, ["code", "name"]), (2, ["05001", "Medellín"])]


def test_csv_with_semicolons_as_excel_writes_in_spanish():
    rows = read_csv("code;name;value\r\n05001;Medellín;1,5\r\n".encode())
    assert rows[1] == (2, ["05001", "Medellín", "1,5"])


def test_the_header_decides_the_separator_not_the_values():
    # Values full of semicolons do not turn a comma-separated file into a ;-separated one.
    rows = read_csv(b"code,note\n05001,a;b;c;d\n05002,e;f;g\n")
    assert rows[1] == (2, ["05001", "a;b;c;d"])


def test_csv_keeps_leading_zeros_as_text():
    assert read_csv(b"code\n05001\n")[1] == (2, ["05001"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("code\nÑandú\n".encode("latin-1"), "UTF-8"),
        (b"code\n\x00\x01\n", "binar"),
    ],
)
def test_unreadable_csv_is_refused_with_a_reason(raw, reason):
    with pytest.raises(FileRefused, match=reason):
        read_csv(raw)


def test_row_limit_counts_data_rows():
    assert len(read_csv(b"h\n1\n2\n", max_rows=2)) == 3
    with pytest.raises(FileRefused, match="más de 2 filas"):
        read_csv(b"h\n1\n2\n3\n", max_rows=2)


def test_records_behave_like_dictreader():
    records = csv_records(b"\xef\xbb\xbf Code ;Name\n05001;Medellin\n\n05002\n05003;Abejorral;extra\n")
    assert records == [
        {"code": "05001", "name": "Medellin"},
        {"code": "05002", "name": None},
        {"code": "05003", "name": "Abejorral", None: ["extra"]},
    ]
    assert csv_records(b"") == []


def test_utf16_from_excel_is_told_to_save_as_utf8():
    with pytest.raises(FileRefused, match="UTF-8"):
        read_csv("code\n05001\n".encode("utf-16"))

"""A minimal PDF writer for tests: one page per text, Helvetica, a correct cross-reference table.

Enough for pdf.js to render real pages (the evidence preview, issue 21) without a PDF library.
"""

from __future__ import annotations


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252")  # WinAnsiEncoding below: Spanish letters are one byte each
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def tiny_pdf(*texts: str, width: int = 300, height: int = 200) -> bytes:
    """A PDF with one A-few-words page per text (large black text near the top left)."""
    assert texts, "a PDF needs at least one page"
    pages = len(texts)
    font = 3 + 2 * pages  # objects: 1 catalog, 2 pages, then (page, content) pairs, then the font
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        f"<</Type/Pages/Kids[{kids}]/Count {pages}>>".encode(),
    ]
    for i, text in enumerate(texts):
        stream = b"BT /F1 28 Tf 20 %d Td (" % (height - 60) + _escape(text) + b") Tj ET"
        objects.append(
            f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 {width} {height}]/Resources<</Font<</F1 {font} 0 R>>>>"
            f"/Contents {4 + 2 * i} 0 R>>".encode()
        )
        objects.append(b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>")
    return _assemble(objects)


def _assemble(objects: list[bytes]) -> bytes:
    """The file around numbered objects (1 is the catalog): header, bodies, xref, trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _bits(text: str) -> bytes:
    text += "0" * (-len(text) % 8)
    return bytes(int(text[i : i + 8], 2) for i in range(0, len(text), 8))


def scanned_pdf(width: int = 300, height: int = 200) -> bytes:
    """A one-page PDF like a black-and-white scan: an 8×8 all-black CCITT group 4 (fax) image
    drawn as a 120-point square. pdf.js decodes CCITT with its separate JBIG2/CCITT decoder."""
    # Row 1: horizontal mode (001), white run 0 (00110101), black run 8 (000101); rows 2-8: two
    # vertical-0 codes each (the row repeats the one above); then end of facsimile block.
    data = _bits("001" + "00110101" + "000101" + "11" * 7 + "000000000001" * 2)
    image = (
        b"<</Type/XObject/Subtype/Image/Width 8/Height 8/ColorSpace/DeviceGray/BitsPerComponent 1"
        b"/Filter/CCITTFaxDecode/DecodeParms<</K -1/Columns 8/Rows 8>>/Length %d>>stream\n"
        % len(data)
        + data
        + b"\nendstream"
    )
    stream = b"q 120 0 0 120 40 40 cm /Im1 Do Q"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 {width} {height}]/Resources<</XObject<</Im1 5 0 R>>>>"
        "/Contents 4 0 R>>".encode(),
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        image,
    ]
    return _assemble(objects)

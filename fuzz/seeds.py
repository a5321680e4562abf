#!/usr/bin/env python3
"""Raw seed inputs for the fuzz targets, before `cargo fuzz cmin` keeps the few that matter.

Usage: fuzz/seeds.py OUT_DIR   (run from the repository root)

Real files where there are some (fixtures/, ../shared/corpus): PDFs, e-invoice XML, CAMT.053,
the statement CSV, scans, facteur.toml and pipeline TOML. Mail messages, zips and small images
do not exist as files here, so they are built: messages with PDF/XML/zip/image attachments, a
forwarded message, an XML body; zips flat, nested, with directories and a stored entry; PNG and
TIFF written byte by byte, JPEG rendered by pdftoppm.
"""

import email.message
import email.policy
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

ROOT = Path.cwd()
SHARED = ROOT.parent / "shared" / "corpus"
if not SHARED.exists():
    SHARED = Path("/work/shared/corpus")


def files(base, suffixes, max_size):
    if not base.exists():
        return []
    return sorted(
        p
        for p in base.rglob("*")
        if p.is_file() and p.suffix.lower() in suffixes and p.stat().st_size <= max_size
    )


def put(out, target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def png(width, height, gray=True, phys=None):
    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ctype = 0 if gray else 2
    bpp = 1 if gray else 3
    rows = b"".join(
        b"\x00" + bytes(((x * 7 + y * 3) % 256) for x in range(width * bpp))
        for y in range(height)
    )
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0))
    if phys:
        out += chunk(b"pHYs", struct.pack(">IIB", phys, phys, 1))
    return out + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tiff(pages, big_endian=False):
    """Uncompressed 8-bit grayscale TIFF, one IFD per (w, h) page."""
    e = ">" if big_endian else "<"
    head = (b"MM\x00*" if big_endian else b"II*\x00")
    body = bytearray(head + struct.pack(e + "I", 0))
    prev_next = 4
    for (w, h) in pages:
        pixels = bytes(((x + y) * 9) % 256 for y in range(h) for x in range(w))
        strip = len(body)
        body += pixels
        if len(body) % 2:
            body += b"\x00"
        res = len(body)
        body += struct.pack(e + "II", 200, 1)
        ifd = len(body)
        struct.pack_into(e + "I", body, prev_next, ifd)
        tags = [
            (256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 8), (259, 3, 1, 1),
            (262, 3, 1, 1), (273, 4, 1, strip), (277, 3, 1, 1), (278, 3, 1, h),
            (279, 4, 1, len(pixels)), (282, 5, 1, res), (283, 5, 1, res), (296, 3, 1, 2),
        ]
        body += struct.pack(e + "H", len(tags))
        for tag, typ, count, value in tags:
            if typ == 3:
                body += struct.pack(e + "HHIHH", tag, typ, count, value, 0)
            else:
                body += struct.pack(e + "HHII", tag, typ, count, value)
        prev_next = len(body)
        body += struct.pack(e + "I", 0)
    return bytes(body)


def jpeg_from_pdf(pdf, dpi):
    if not shutil.which("pdftoppm"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "page"
        r = subprocess.run(
            ["pdftoppm", "-jpeg", "-r", str(dpi), "-singlefile", str(pdf), str(prefix)],
            capture_output=True,
        )
        out = prefix.with_suffix(".jpg")
        return out.read_bytes() if r.returncode == 0 and out.exists() else None


def a_zip(entries, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            if name.endswith("/"):
                z.writestr(zipfile.ZipInfo(name), b"")
            else:
                z.writestr(name, data)
    return buf.getvalue()


def mail(subject, attachments=(), body="Bonjour,\nci-joint la facture.\n", xml_body=None,
         inline=None, forwarded=None):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Fournisseur <factures@fournisseur.example>"
    m["To"] = "compta@client.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<{abs(hash(subject))}@fournisseur.example>"
    if xml_body is not None:
        m.set_content(xml_body, subtype="xml")
        return m.as_bytes()
    m.set_content(body)
    if inline is not None:
        m.add_related(inline, maintype="image", subtype="png", cid="<logo>", disposition="inline")
    for name, data, (maintype, subtype) in attachments:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if forwarded is not None:
        m.add_attachment(email.message_from_bytes(forwarded, policy=email.policy.SMTP))
    return m.as_bytes()


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)

    pdfs = files(ROOT / "fixtures", {".pdf"}, 20_000) + files(SHARED, {".pdf"}, 20_000)
    for p in pdfs:
        put(out, "pdf", p.parent.name + "-" + p.name, p.read_bytes())
    xmls = files(ROOT / "fixtures", {".xml"}, 9_000) + files(SHARED, {".xml"}, 9_000)
    for p in xmls:
        if b"camt.053" not in p.read_bytes()[:2000]:
            put(out, "xml", p.parent.name + "-" + p.name, p.read_bytes())
    for p in files(ROOT / "fixtures" / "bank", {".xml"}, 1_000_000):
        put(out, "camt", p.name, p.read_bytes())
    for p in files(ROOT / "fixtures", {".csv"}, 100_000):
        put(out, "csv", p.name, p.read_bytes())
    put(out, "csv", "dmy-dates.csv",
        b"date;amount;reference;counterparty;iban\r\n01/04/2026;7,50;Interets;;\r\n"
        b"\xef\xbb\xbf02/04/2026;1 000.00;\"FA;42\";Dupont;\n")

    configs = [ROOT / "src" / "cli" / "facteur.toml.template"] + files(ROOT / "pipelines", {".toml"}, 100_000)
    for p in configs:
        put(out, "config", p.name, p.read_bytes())
    put(out, "config", "overrides.toml",
        b'[store]\nurl = "sqlite://facteur.db"\n[intake]\nmax_document_mb = 0\n[read]\nmax_pages = 1\n')

    hexes = ["0" * 64, "a" * 64, "0123456789abcdefABCDEF" * 2 + "0123456789abcdefABCD"]
    for i, h in enumerate(hexes):
        put(out, "token", f"approve-{i}", f"{h}/approve".encode())
        put(out, "token", f"reject-{i}", f"{h}/reject".encode())
    put(out, "token", "short", b"abc/approve")

    # Images: small ones so a decode is quick; a real scan's header for variety.
    put(out, "images", "gray.png", png(40, 30, phys=7874))
    put(out, "images", "rgb.png", png(16, 16, gray=False))
    put(out, "images", "one-page.tif", tiff([(24, 16)]))
    put(out, "images", "two-pages-be.tif", tiff([(8, 8), (12, 6)], big_endian=True))
    small_pdf = ROOT / "fixtures" / "demo" / "avoir-papeterie-dupont.pdf"
    jpg = jpeg_from_pdf(small_pdf, 8)
    if jpg:
        put(out, "images", "render.jpg", jpg)
    scan = ROOT / "fixtures" / "scans" / "multipage-free.tif"
    if scan.exists():
        put(out, "images", "multipage-free.tif", scan.read_bytes())

    # Zips.
    pdf = small_pdf.read_bytes()
    xml = (ROOT / "fixtures" / "demo" / "ubl-example1.xml").read_bytes()
    inner = a_zip([("inner/facture.pdf", pdf)])
    zips = {
        "flat.zip": a_zip([("facture.pdf", pdf), ("facture.xml", xml), ("notes.txt", b"hello")]),
        "nested.zip": a_zip([("lot/", b""), ("lot/inner.zip", inner), (".hidden.pdf", pdf)]),
        "stored.zip": a_zip([("scan.png", png(8, 8))], zipfile.ZIP_STORED),
        "empty.zip": a_zip([]),
    }
    for name, data in zips.items():
        put(out, "zip", name, data)

    # Mail.
    msgs = {
        "pdf.eml": mail("Facture FA-1", [("FA-1.pdf", pdf, ("application", "pdf"))]),
        "zip.eml": mail("Factures", [("lot.zip", zips["nested.zip"], ("application", "zip"))]),
        "xml-body.eml": mail("UBL", xml_body=xml.decode("utf-8", "replace")),
        "image.eml": mail("Scan", [("scan.tif", tiff([(8, 8)]), ("image", "tiff"))],
                          inline=png(8, 8)),
        "octet.eml": mail("Divers", [("facture.PDF", pdf, ("application", "octet-stream")),
                                      ("readme.txt", b"x", ("text", "plain"))]),
    }
    msgs["forwarded.eml"] = mail("Fwd: Facture", forwarded=msgs["pdf.eml"])
    for name, data in msgs.items():
        put(out, "mime", name, data)


if __name__ == "__main__":
    main()

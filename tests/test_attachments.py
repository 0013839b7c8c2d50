"""Which files a case accepts (app/engine/attachments.py): PDF, JPEG, PNG, and Word, Excel and PowerPoint
in OOXML and OLE2, judged by their bytes; macro-enabled office documents, anything else, empty or
oversized files are refused. The OLE2 files are built here by a small compound-file writer (MS-CFB)."""
import io
import struct
import zipfile

import filetype
import olefile
import openpyxl
import pytest
from test_complaints import PDF, PNG, file_complaint, upload

from app.engine.attachments import MAX_BYTES, checked, content_type
from app.errors import InvalidData

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
MACROS = "contains macros: macro-enabled office documents are not accepted."
NOT_ACCEPTED = "is not a PDF, JPEG, PNG or office document"


# --- OLE2 compound files (MS-CFB version 3: 512-byte sectors) ---------------------------------------------

SECTOR, MINI_CUTOFF = 512, 4096
FREE = NOSTREAM = 0xFFFFFFFF
END_OF_CHAIN, FAT_SECTOR = 0xFFFFFFFE, 0xFFFFFFFD
STORAGE, STREAM, ROOT = 1, 2, 5


def compound_file(tree: dict) -> bytes:
    """An OLE2 compound file holding `tree`: {name: bytes (a stream) or dict (a storage)}. Each stream is
    padded to the mini-stream cutoff, so that all of them live in regular sectors and no mini stream is
    needed. Siblings are chained as a binary search tree in the format's order, all nodes black (which the
    specification allows)."""
    entries = [{"name": "Root Entry", "type": ROOT, "data": b""}]

    def add_children(parent: dict, children: dict):
        ids = []
        for name in sorted(children, key=lambda n: (len(n), n.upper())):
            value = children[name]
            entry = {"name": name, "type": STORAGE if isinstance(value, dict) else STREAM,
                     "data": b"" if isinstance(value, dict) else value.ljust(MINI_CUTOFF, b"\0")}
            entries.append(entry)
            ids.append(len(entries) - 1)
            if isinstance(value, dict):
                add_children(entry, value)
        parent["child"] = ids[0] if ids else NOSTREAM
        for left, right in zip(ids, ids[1:], strict=False):
            entries[left]["right"] = right

    add_children(entries[0], tree)
    sectors, chains = [], []  # the file's sectors after the header; the chains of sector numbers
    for entry in entries:
        if entry["type"] == STREAM:
            entry["start"] = len(sectors)
            count = -(-len(entry["data"]) // SECTOR)
            chains.append(range(len(sectors), len(sectors) + count))
            sectors += [entry["data"][i * SECTOR:(i + 1) * SECTOR] for i in range(count)]
    unused = [{"name": "", "type": 0}] * (-len(entries) % 4)  # four 128-byte entries fill a sector
    directory = b"".join(directory_entry(entry) for entry in entries + unused)
    directory_start = len(sectors)
    chains.append(range(directory_start, directory_start + len(directory) // SECTOR))
    sectors += [directory[i:i + SECTOR] for i in range(0, len(directory), SECTOR)]
    fat_count = 1
    while fat_count * SECTOR // 4 < len(sectors) + fat_count:
        fat_count += 1
    fat = [FREE] * (fat_count * SECTOR // 4)
    for chain in chains:
        for current, following in zip(chain, [*chain[1:], END_OF_CHAIN], strict=True):
            fat[current] = following
    fat_sectors = list(range(len(sectors), len(sectors) + fat_count))
    for number in fat_sectors:
        fat[number] = FAT_SECTOR
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors += [fat_bytes[i:i + SECTOR] for i in range(0, len(fat_bytes), SECTOR)]
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", olefile.MAGIC, b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6,
                         0, fat_count, directory_start, 0, MINI_CUTOFF, END_OF_CHAIN, 0, END_OF_CHAIN, 0)
    header += struct.pack("<109I", *(fat_sectors + [FREE] * (109 - fat_count)))
    return header + b"".join(sectors)


def directory_entry(entry: dict) -> bytes:
    name = (entry["name"] + "\0").encode("utf-16-le") if entry["name"] else b""
    return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), entry["type"], 1 if entry["type"] else 0,
                       NOSTREAM, entry.get("right", NOSTREAM), entry.get("child", NOSTREAM), b"\0" * 16, 0, 0, 0,
                       entry.get("start", END_OF_CHAIN if entry["type"] == ROOT else 0), len(entry.get("data", b"")))


WORD_STREAM = b"\xec\xa5\xc1\x00"  # the FIB's wIdent and nFib of Word 97
BIFF8_BOF = b"\x09\x08\x10\x00\x00\x06\x05\x00"
SUMMARY = {"\x05SummaryInformation": b"\xfe\xff\x00\x00", "\x05DocumentSummaryInformation": b"\xfe\xff\x00\x00"}
VBA = {"VBA": {"dir": b"\x01\x00", "_VBA_PROJECT": b"\xcc\x61", "ThisDocument": b"Attribute VB_Name"},
       "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"', "PROJECTwm": b"ThisDocument\0"}
WORD_DOC = compound_file({"WordDocument": WORD_STREAM, "1Table": b"\x00", **SUMMARY})
EXCEL_WORKBOOK = compound_file({"Workbook": BIFF8_BOF, **SUMMARY})
EXCEL_5_BOOK = compound_file({"Book": BIFF8_BOF})
POWERPOINT = compound_file({"PowerPoint Document": b"\x0f\x00\xe8\x03", "Current User": b"\x00", **SUMMARY})
WORD_WITH_MACROS = compound_file({"WordDocument": WORD_STREAM, "1Table": b"\x00", "Macros": VBA})
EXCEL_WITH_MACROS = compound_file({"Workbook": BIFF8_BOF, "_VBA_PROJECT_CUR": VBA})
EXCEL_WITH_VBA_DEEPER = compound_file({"Workbook": BIFF8_BOF, "ObjectPool": {"_1234": VBA}})


def test_the_compound_file_builder_writes_what_olefile_reads_without_a_defect():
    with olefile.OleFileIO(io.BytesIO(WORD_WITH_MACROS), raise_defects=olefile.DEFECT_INCORRECT) as ole:
        assert sorted(ole.listdir()) == [["1Table"], ["Macros", "PROJECT"], ["Macros", "PROJECTwm"],
                                         ["Macros", "VBA", "ThisDocument"], ["Macros", "VBA", "_VBA_PROJECT"],
                                         ["Macros", "VBA", "dir"], ["WordDocument"]]
        assert ole.openstream("WordDocument").read().startswith(WORD_STREAM)
        assert ole.get_type("Macros/VBA") == olefile.STGTY_STORAGE


# --- OOXML packages ----------------------------------------------------------------------------------------

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                 '<Default Extension="xml" ContentType="application/xml"/>{}</Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>')
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.'
        'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title>来函</dc:title></cp:coreProperties>')


def package(parts: dict) -> bytes:
    """A zip of `parts` ({name: str or bytes}), in that order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def override(part: str, kind: str) -> str:
    return f'<Override PartName="/{part}" ContentType="{kind}"/>'


def relationship(rid: str, kind: str, target: str) -> str:
    return f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'


def word_parts(main="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
               vba=False) -> dict:
    """A Word document's parts as Word writes them; with `vba`, its macro project too."""
    vba_type = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' if vba else ""
    document_rels = relationship("rId1", "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                                 "vbaProject.bin") if vba else ""
    parts = {
        "[Content_Types].xml": CONTENT_TYPES.format(
            vba_type + override("word/document.xml", main)
            + override("docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml")),
        "_rels/.rels": RELS.format(relationship("rId1", OFFICE_DOCUMENT, "word/document.xml")),
        "word/document.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
                             '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
                             '<w:t>本周两次送货迟到</w:t></w:r></w:p></w:body></w:document>',
        "word/_rels/document.xml.rels": RELS.format(document_rels),
        "docProps/core.xml": CORE,
    }
    if vba:
        parts["word/vbaProject.bin"] = WORD_WITH_MACROS  # a vbaProject.bin is itself a compound file
    return parts


def powerpoint_parts() -> dict:
    slide = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
    return {
        "[Content_Types].xml": CONTENT_TYPES.format(
            override("ppt/presentation.xml",
                     "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml")
            + override("ppt/slides/slide1.xml", slide)),
        "_rels/.rels": RELS.format(relationship("rId1", OFFICE_DOCUMENT, "ppt/presentation.xml")),
        "ppt/presentation.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation xmlns:p='
                                '"http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:r="http://'
                                'schemas.openxmlformats.org/officeDocument/2006/relationships"><p:sldIdLst>'
                                '<p:sldId id="256" r:id="rId2"/></p:sldIdLst></p:presentation>',
        "ppt/_rels/presentation.xml.rels": RELS.format(relationship(
            "rId2", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide", "slides/slide1.xml")),
        "ppt/slides/slide1.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld xmlns:p='
                                 '"http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree/>'
                                 '</p:cSld></p:sld>',
    }


def workbook() -> bytes:
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    book.active["A1"] = "投诉台账"
    book.save(buffer)
    return buffer.getvalue()


def changed(content: bytes, **changes) -> bytes:
    """The zip with some members replaced or added ({name: data}; '[Content_Types].xml' as content_types)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    if "content_types" in changes:
        changes["[Content_Types].xml"] = changes.pop("content_types")
    return package({**parts, **changes})


XLSX_FILE = workbook()
XLSM_BY_CONTENT_TYPE = changed(XLSX_FILE, content_types=zipfile.ZipFile(io.BytesIO(XLSX_FILE)).read(
    "[Content_Types].xml").replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                   b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"))
XLSX_WITH_VBA_PROJECT = changed(XLSX_FILE, **{"xl/vbaProject.bin": EXCEL_WITH_MACROS})
DOCX_FILE = package(word_parts())
DOCM_FILE = package(word_parts(main="application/vnd.ms-word.document.macroEnabled.main+xml", vba=True))
DOCX_WITH_VBA_PROJECT = package(word_parts(vba=True))
PPTX_FILE = package(powerpoint_parts())


# --- What is accepted ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("filename", "content", "kind"), [
    ("来函扫描.pdf", PDF, "application/pdf"),
    ("现场.jpg", JPEG, "image/jpeg"),
    ("现场.png", PNG, "image/png"),
    ("台账.xlsx", XLSX_FILE, XLSX),
    ("回复.docx", DOCX_FILE, DOCX),
    ("汇报.pptx", PPTX_FILE, PPTX),
    ("回复.doc", WORD_DOC, "application/msword"),
    ("台账.xls", EXCEL_WORKBOOK, "application/vnd.ms-excel"),
    ("旧台账.xls", EXCEL_5_BOOK, "application/vnd.ms-excel"),
    ("汇报.ppt", POWERPOINT, "application/vnd.ms-powerpoint"),
])
def test_each_accepted_kind_is_recognised_by_its_bytes(filename, content, kind):
    assert content_type(content) == kind
    assert checked(filename, content) == (filename, kind)
    assert checked("scan.bin", content) == ("scan.bin", kind)  # the name plays no part


def test_an_ooxml_document_whose_zip_entries_filetype_does_not_look_at_is_recognised_by_its_members():
    parts = word_parts()
    late = {name: parts.pop(name) for name in ("word/document.xml", "word/_rels/document.xml.rels")}
    content = package({**parts, "customXml/item1.xml": "<a/>", "customXml/item2.xml": "<b/>", **late})
    assert filetype.guess_mime(content) == "application/zip"
    assert content_type(content) == DOCX


def test_a_file_name_is_cut_to_its_last_part():
    assert checked("../../etc/来函.pdf", PDF) == ("来函.pdf", "application/pdf")
    assert checked("", PDF) == ("attachment", "application/pdf")


# --- What is refused ----------------------------------------------------------------------------------------

def refusal(filename: str, content: bytes) -> str:
    with pytest.raises(InvalidData) as refused:
        checked(filename, content)
    (message,) = refused.value.fields["attachments"]
    assert filename in str(message) and str(refused.value) == str(message)
    return str(message)


@pytest.mark.parametrize(("filename", "content"), [
    ("报表.xlsx", XLSM_BY_CONTENT_TYPE),  # a .xlsm renamed
    ("报表.xlsm", XLSM_BY_CONTENT_TYPE),
    ("报表.xlsx", XLSX_WITH_VBA_PROJECT),
    ("回复.docm", DOCM_FILE),
    ("回复.docx", DOCM_FILE),
    ("回复.docx", DOCX_WITH_VBA_PROJECT),
    ("回复.docx", package({**word_parts(), "customXml/vbaProject.bin": b"\x00"})),  # any folder
    ("回复.doc", WORD_WITH_MACROS),
    ("台账.xls", EXCEL_WITH_MACROS),
    ("台账.xls", EXCEL_WITH_VBA_DEEPER),
])
def test_a_macro_enabled_office_document_is_refused(filename, content):
    assert content_type(content) is None
    assert refusal(filename, content) == f"{filename} {MACROS}"


@pytest.mark.parametrize(("filename", "content"), [
    ("letter.pdf", EXECUTABLE),
    ("letter.pdf", EXECUTABLE + package({"word/document.xml": "<w/>", "[Content_Types].xml": "<Types/>"})),
    ("photos.docx", package({"readme.txt": "not office", "photo.png": PNG})),
    ("photos.docx", package({"[Content_Types].xml": CONTENT_TYPES.format(""), "content.xml": "<a/>"})),
    ("broken.docx", b"PK\x03\x04" + b"\x00" * 600),
    ("setup.doc", compound_file({"\x05SummaryInformation": b"\xfe\xff", "Contents": b"\x00"})),
    ("fake.xls", compound_file({"Workbook": {"Sheet": b"\x00"}})),  # a storage named like the stream
    ("broken.doc", olefile.MAGIC + b"\x00" * 2000),
    ("notes.txt", "投诉记录".encode()),
])
def test_anything_else_is_refused_whatever_its_name(filename, content):
    assert content_type(content) is None
    assert NOT_ACCEPTED in refusal(filename, content)


def test_an_empty_or_oversized_file_is_refused():
    assert refusal("scan.pdf", b"") == "scan.pdf is empty."
    assert refusal("scan.pdf", PDF.ljust(MAX_BYTES + 1, b"0")) == "scan.pdf is larger than 10 MB."
    assert checked("scan.pdf", PDF.ljust(MAX_BYTES, b"0"))[1] == "application/pdf"


# --- Through the API ----------------------------------------------------------------------------------------

def test_a_macro_enabled_workbook_posted_to_a_case_is_refused_and_nothing_is_kept(api, ctx):
    case = file_complaint(api)
    response = upload(api, case["id"], "rep_e1", ("来函.pdf", PDF), ("台账.xlsx", XLSM_BY_CONTENT_TYPE))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["attachments"][0] == "台账.xlsx 含有宏：不接受启用宏的办公文档。"  # zh
    assert api.get(f"/instances/{case['id']}/attachments", "rep_e1").get_json() == []
    accepted = upload(api, case["id"], "rep_e1", ("台账.xlsx", XLSX_FILE), ("回复.doc", WORD_DOC))
    assert accepted.status_code == 201, accepted.get_json()
    listed = api.get(f"/instances/{case['id']}/attachments", "rep_e1").get_json()
    assert [a["content_type"] for a in listed] == [XLSX, "application/msword"]

"""Importing a saved (Outlook) HTML email as a template body (S2.11)."""

from __future__ import annotations

import codecs

import pytest

from dunning.email import compose_email, decode_html, import_html_body
from dunning.models.config import EmailTemplate

# Shaped like Outlook's "Save as > HTML": Word namespaces, head styles, conditional comments, o:p, mso-*.
OUTLOOK = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv=Content-Type content="text/html; charset=windows-1252">
<meta name=Generator content="Microsoft Word 15 (filtered medium)">
<title>Payment reminder</title>
<!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]-->
<style><!--
p.MsoNormal, li.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif;}
@page WordSection1 {size:612.0pt 792.0pt;}
--></style>
</head>
<body lang=PT-BR link="#0563C1" vlink="#954F72" style='tab-interval:36.0pt;word-wrap:break-word'>
<div class=WordSection1>
<p class=MsoNormal
style='margin-bottom:12.0pt;mso-line-height-rule:exactly'>Prezado(a) {{ person.name }},<o:p></o:p></p>
<p class="MsoNormal Highlight"><span style='mso-spacerun:yes'>&nbsp;</span><b><span
style='color:#C00000;mso-fareast-language:PT-BR'>Saldo: {{ totals.open_balance_text }}</span></b><o:p
>&nbsp;</o:p></p>
<![if !supportLists]><span style='mso-list:Ignore'>1.</span><![endif]>
<p class=MsoListParagraph onclick="steal()"><a href="https://pay.acme.example/">Pagar agora</a> ou
<a href="javascript:alert(1)">isto</a></p>
<!--[if mso]><v:roundrect href="https://pay.acme.example/"><w:anchorlock/></v:roundrect><![endif]-->
<script>alert('x')</script>
<p dir=RTL style='text-align:right;direction:rtl;unicode-bidi:embed'><span lang=AR-SA>مرحبا</span></p>
<img src="data:image/png;base64,iVBORw0KGgo=" alt=logo><img src="cid:image001.png@01DA" width=10>
</div>
</body>
</html>
"""


def test_given_outlook_html_when_imported_then_clean_body_with_inline_styles():
    body = import_html_body(OUTLOOK)
    assert body == (
        "<div>\n"
        '<p style="margin-bottom:12.0pt">Prezado(a) {{ person.name }},</p>\n'
        '<p class="Highlight">&nbsp;<b><span style="color:#C00000">'
        "Saldo: {{ totals.open_balance_text }}</span></b>&nbsp;</p>\n"
        "1.\n"
        '<p><a href="https://pay.acme.example/">Pagar agora</a> ou\n'
        "<a>isto</a></p>\n"
        "\n"
        '<p dir="RTL" style="text-align:right;direction:rtl;unicode-bidi:embed">'
        '<span lang="AR-SA">مرحبا</span></p>\n'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo">'
        '<img src="cid:image001.png@01DA" width="10">\n'
        "</div>"
    )


@pytest.mark.parametrize(
    ("junk", "absent"),
    [
        ("head and its styles", "MsoNormal"),
        ("title", "Payment reminder"),
        ("conditional comments", "roundrect"),
        ("xml islands", "shapedefaults"),
        ("scripts", "alert('x')"),
        ("event handlers", "onclick"),
        ("javascript links", "javascript:"),
        ("office tags", "o:p"),
        ("mso styles", "mso-"),
        ("namespaces", "xmlns"),
        ("downlevel-revealed markers", "<!["),
    ],
)
def test_given_outlook_html_when_imported_then_authoring_junk_is_gone(junk, absent):
    assert absent not in import_html_body(OUTLOOK), junk


def test_given_imported_body_when_used_as_template_then_renders_with_placeholders():
    template = EmailTemplate(
        code="IMPORTED",
        default_language="pt",
        sender_name="Acme",
        sender_address="ar@acme.example",
        bodies={"pt": {"subject": "Lembrete", "html": import_html_body(OUTLOOK)}},
    )
    context = {"person": {"name": "Ana <Souza>"}, "totals": {"open_balance_text": "R$\xa010,00"}}
    email = compose_email(template, context, language="pt-BR", to_name="Ana", to_address="ana@example.com")
    assert "Prezado(a) Ana &lt;Souza&gt;," in email.html
    assert email.text.startswith("Prezado(a) Ana <Souza>,\n\n\xa0Saldo: R$\xa010,00")
    assert "Pagar agora (https://pay.acme.example/)" in email.text


@pytest.mark.parametrize(
    ("html", "clean"),
    [
        ("<p>No body tag</p>", "<p>No body tag</p>"),
        ("<p>Unclosed <b>bold</p>", "<p>Unclosed <b>bold</b></p>"),
        ("<p>Stray</i> end</p>", "<p>Stray end</p>"),
        ("<p>Fish &amp; chips &lt;3</p>", "<p>Fish &amp; chips &lt;3</p>"),
        (
            '<a href="https://x.example/?a=1&amp;b=&quot;2&quot;">q</a>',
            '<a href="https://x.example/?a=1&amp;b=&quot;2&quot;">q</a>',
        ),
        ('<a href=" JaVa\tScript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href="data:text/html,hi">x</a>', "<a>x</a>"),
        ('<p style="color:red;width:expression(alert(1))">x</p>', '<p style="color:red">x</p>'),
        ("<span>bare</span> <font>bare</font> <span class=MsoX>bare</span>", "bare bare bare"),
        ("<html><body><p>in</p></body></html><p>after body</p>", "<p>in</p>"),
        ("<iframe src='x'>inside</iframe><object>obj</object><p>kept</p>", "<p>kept</p>"),
        ("<p>A</p>\r\n\r\n\r\n\r\n<p>B</p>", "<p>A</p>\n\n<p>B</p>"),
    ],
)
def test_given_html_fragment_when_imported_then_cleaned(html, clean):
    assert import_html_body(html) == clean


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ('<meta charset="windows-1252"><p>Caf\xe9 \x80</p>'.encode("latin-1"), "Café €"),
        ("<p>Здравствуйте</p>".encode(), "Здравствуйте"),
        (codecs.BOM_UTF8 + "<p>مرحبا</p>".encode(), "مرحبا"),
        (codecs.BOM_UTF16_LE + "<p>Olá</p>".encode("utf-16-le"), "Olá"),
        (b"<p>\xe9t\xe9</p>", "été"),  # not UTF-8, no declaration: windows-1252
        (b'<meta charset="no-such-codec"><p>ok</p>', "ok"),
    ],
)
def test_given_saved_html_bytes_when_decoded_then_right_text(data, text):
    assert text in decode_html(data)

"""Email composition (S2.11): render a template per language, derive the text part, build the MIME message.

Pure: no boto3. The send handler composes with :func:`compose_email` (or :func:`compose_contact_email`),
serialises with :func:`to_mime`, and passes the bytes to SES as raw content.
"""

from dunning.email.compose import (
    ComposedEmail,
    EmailError,
    body_language,
    compose_contact_email,
    compose_email,
    format_address,
)
from dunning.email.context import email_context
from dunning.email.importer import decode_html, import_html_body
from dunning.email.mime import to_mime
from dunning.email.text import html_to_text

__all__ = [
    "ComposedEmail",
    "EmailError",
    "body_language",
    "compose_contact_email",
    "compose_email",
    "decode_html",
    "email_context",
    "format_address",
    "html_to_text",
    "import_html_body",
    "to_mime",
]

"""Secrets never reach what pml-policy prints or records.

A password can sit in a URL (`postgresql://u:PW@h/db`, `?password=PW`, `?token=PW`) or in the
environment (MLFLOW_TRACKING_PASSWORD, WANDB_API_KEY, PGPASSWORD, AWS_SECRET_ACCESS_KEY…), and
the libraries pml-policy drives (SQLAlchemy, psycopg, MLflow, requests) may repeat either in an
error message. `redact` masks both kinds in any text: applied where errors are printed, and to every
URL shown or written into a report.

>>> redact("postgresql://auditor:s3cret@db/audit?sslpassword=x&token=abc")
'postgresql://auditor:***@db/audit?sslpassword=***&token=***'
"""

from __future__ import annotations

import os
import re

MASK = "***"
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
_SECRET_PARAM = re.compile(
    r"([?&;\s](?:[a-z_]*password|passwd|pwd|secret|[a-z_]*token|api[_-]?key|access[_-]?key|auth)=)[^&\s;'\"]+",
    re.IGNORECASE,
)
_SECRET_NAMES = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)
_SHORTEST = 6  # a shorter value ("true", "1") would mask ordinary words


def environment_secrets() -> list[str]:
    """The values of the environment variables whose names say they hold a secret, longest first."""
    found = {v for k, v in os.environ.items() if _SECRET_NAMES.search(k) and len(v) >= _SHORTEST}
    return sorted(found, key=len, reverse=True)


def redact(text: str) -> str:
    """The text with URL passwords, secret query parameters and secret environment values masked."""
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    text = _SECRET_PARAM.sub(rf"\1{MASK}", text)
    for value in environment_secrets():
        if value in text:
            text = text.replace(value, MASK)
    return text

from __future__ import annotations

from exam.api import api_blueprint

blp = api_blueprint("api_certificates", __name__, "Certificates")

"""The ``regtrack serve`` web page (:mod:`regtrack.web.app`; FastAPI, plain HTML/JS in ``static/``)."""

"""Page routers, one module per area; :func:`countyhealth.web.install_web` includes them all."""

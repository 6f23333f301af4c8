"""Production: secrets only from the environment, HTTPS everywhere."""

from rapport.settings.base import *  # noqa: F403
from rapport.settings.base import DATA_DIR
from rapport.settings.env import env_bool, env_str, mailer_from_url, secret_key

SECRET_KEY = secret_key(DATA_DIR, generate=False)
SECURE_SSL_REDIRECT = env_bool("RAPPORT_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Without EMAIL_URL, the local mail transfer agent (port 25, as cron and most servers use):
# a console backend in production would silently drop password-reset mail.
EMAIL_URL = env_str("EMAIL_URL", "smtp://localhost:25?tls=0")
MAILERS = {"default": mailer_from_url(EMAIL_URL)}

"""The data-in-and-out API: imports, exports, duplicates, merges, personal data.

Each feature module defines `router()`; they are mounted under /api/v1/ by the core's
`build_api()` through `add_router`.
"""

from rapport.core.api.routers import add_router
from rapport.dataio.api import duplicates, exports, imports, merges, privacy

add_router("/imports", imports.router)
add_router("/exports", exports.router)
add_router("/duplicates", duplicates.router)
add_router("/merges", merges.router)
add_router("/privacy", privacy.router)

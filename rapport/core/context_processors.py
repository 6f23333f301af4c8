"""Template context every page needs."""


def rapport(request):
    return {}

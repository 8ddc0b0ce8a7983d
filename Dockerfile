# groupctl for CI systems that run containers:
#   docker build -t groupctl .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" \
#     -e TITAN_API_URL -e TITAN_API_KEY groupctl plan
# The version comes from the checkout's git tags (or --build-arg VERSION=1.2.0).

FROM python:3.12-slim AS build
# setuptools-scm reads the version from git; git stays in this stage only (unpinned: it reads
# a tag, and a pinned Debian version breaks the build when the archive moves on).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG VERSION=""
RUN if [ -n "$VERSION" ]; then export SETUPTOOLS_SCM_PRETEND_VERSION="$VERSION"; fi \
    && git config --global --add safe.directory /src \
    && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
# git for `groupctl diff --base REV`, which a pull request's review runs.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin groupctl \
    && mkdir -p /work \
    && chown 10001:10001 /work
USER 10001
WORKDIR /work
ENTRYPOINT ["groupctl"]
CMD ["--help"]

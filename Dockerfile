# One image holding every fleetcost binary. Debian 12, like the development machines,
# so the libraries are the same versions the test suite ran against.
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config \
      libczmq-dev libzmq3-dev libpq-dev libmsgpack-dev libhiredis-dev \
      libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
# A release build: FC_TESTING off, so no test-only switches and no fleetcost-bench.
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFC_TESTING=OFF \
 && cmake --build /build -j"$(nproc)" \
 && mkdir -p /out \
 && cp /build/cli/fleetcost /build/services/*/fleetcost-* /out/

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libczmq4 libzmq5 libpq5 libmsgpackc2 \
      libhiredis0.14 libcurl4 libmicrohttpd12 zlib1g ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/fleetcost --create-home fleetcost
COPY --from=build /out/ /usr/local/bin/
USER fleetcost
WORKDIR /var/lib/fleetcost
ENTRYPOINT []
CMD ["fleetcost", "--help"]

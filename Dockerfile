# memfd_exporter container image.
#
#   docker build -t memfd-exporter .
#   docker run -d --name memfd-exporter --read-only --pid=host \
#     --cap-drop ALL --cap-add BPF --cap-add PERFMON --cap-add SETUID --cap-add SETGID \
#     -v /sys/kernel/tracing:/sys/kernel/tracing:ro \
#     -p 9822:9822 memfd-exporter
#
# Capabilities are needed only to start: BPF and PERFMON load and attach the
# programs (the live collector's BPF iterators included), SETUID and SETGID let
# the exporter then become uid/gid 65534, which leaves it no capability at all
# on any thread. --pid=host is for the live collector (memfd_live_*): its
# iterators see the tasks of the exporter's pid namespace. Where the kernel
# refuses the iterators, the collector falls back to /proc and keeps root,
# which then also needs --cap-add DAC_READ_SEARCH --cap-add SYS_PTRACE
# --cap-add CHECKPOINT_RESTORE to see other processes (or --no-collector.live).
#
# The host must have tracefs mounted at /sys/kernel/tracing (mount -t tracefs
# nodev /sys/kernel/tracing): without CAP_SYS_ADMIN the exporter cannot mount
# it itself. Docker >= 23's default seccomp profile allows bpf() and
# perf_event_open() to holders of CAP_BPF/CAP_PERFMON; podman 4.3's does not
# (see scripts/container-smoke.sh, which builds and runs this file
# end to end).

# Both stages use the same base so the runtime's libbpf1 is the ABI the BPF
# object and the bindings were built against. CI without registry access
# passes a local image, e.g. --build-arg BASE_IMAGE=localhost/debian:bookworm.
ARG BASE_IMAGE=debian:bookworm

FROM ${BASE_IMAGE} AS build
# clang compiles bpf/memfd.bpf.c; libbpf-dev provides bpf_helpers.h (and pulls
# linux-libc-dev for <asm/types.h>); bpf/build.sh asks gcc for the multiarch
# include directory.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jdk-headless maven clang libbpf-dev gcc \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependency layer, rebuilt only when the pom changes. A source-less package run
# (the BPF compile skipped) downloads exactly the dependencies *and* plugins the
# real build uses, which dependency:go-offline does not (shade's and surefire's
# own dependencies are missed), so the build below can run offline.
COPY pom.xml ./
RUN mvn -B -q -Dexec.skip -DskipTests package && rm -rf target
COPY bpf/ bpf/
COPY src/main/ src/main/
# Tests are not run here: they need CAP_BPF and tracefs, which build containers
# do not have. The jffi stub is taken out of the jar so that the runtime never
# extracts a shared library into a writable, executable /tmp (jffi's default),
# which is what lets the container run with a read-only root and no tmpfs.
RUN mvn -B -o -DskipTests package \
 && mkdir -p /out/lib /tmp/jni \
 && cd /tmp/jni \
 && jar xf /src/target/memfd-exporter.jar "jni/$(uname -m)-Linux/" \
 && cp "jni/$(uname -m)-Linux/"libjffi-*.so /out/lib/ \
 && cp /src/target/memfd-exporter.jar /out/

FROM ${BASE_IMAGE}
# Only the JRE and the libbpf the bindings dlopen; no shell tools are added.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless libbpf1 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /opt/memfd-exporter/
# The JVM flags of scripts/lib.sh (EXPORTER_JVM_FLAGS, which says why each;
# measured in BENCHMARKS.md): a heap of 16 to 64 MiB, serial GC, C1 only.
# Raise -Xmx with --bpf.max-comms: each scrape holds every series in memory.
# Kept in the environment (not in the ENTRYPOINT) so that setting
# JDK_JAVA_OPTIONS replaces them.
ENV JDK_JAVA_OPTIONS="-XX:+UseSerialGC -Xmx64m -Xms16m -XX:NewRatio=1 -XX:SurvivorRatio=2 -XX:TieredStopAtLevel=1 -Xss256k -XX:+ExitOnOutOfMemoryError"
EXPOSE 9822
# No USER: --cap-add only reaches the effective set of uid 0 (no ambient
# capabilities for other users), so the process starts as root with every
# capability but those added dropped by the runtime, and, once attached,
# switches to uid/gid 65534 with none (--runtime.drop-privileges, the default).
# No HEALTHCHECK: it would need an HTTP client in the image and would hard-code
# the port that --web.listen-address can change; orchestrators probe
# /-/healthy themselves.
# The -D/-XX flags below make a read-only root work: the jffi stub is loaded
# from the image, the JVM writes no hsperfdata (and the exporter configures
# vert.x without a file cache).
ENTRYPOINT ["java", "-XX:-UsePerfData", "-Djffi.boot.library.path=/opt/memfd-exporter/lib", \
            "-jar", "/opt/memfd-exporter/memfd-exporter.jar"]

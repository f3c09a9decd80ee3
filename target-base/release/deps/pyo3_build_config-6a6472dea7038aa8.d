/work/main/target-base/release/deps/pyo3_build_config-6a6472dea7038aa8.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/errors.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/impl_.rs /work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config-file.txt /work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config.txt

/work/main/target-base/release/deps/libpyo3_build_config-6a6472dea7038aa8.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/errors.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/impl_.rs /work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config-file.txt /work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config.txt

/work/main/target-base/release/deps/libpyo3_build_config-6a6472dea7038aa8.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/errors.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/impl_.rs /work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config-file.txt /work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config.txt

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/errors.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-build-config-0.26.0/src/impl_.rs:
/work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config-file.txt:
/work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out/pyo3-build-config.txt:

# env-dep:CARGO_PKG_VERSION=0.26.0
# env-dep:OUT_DIR=/work/main/target-base/release/build/pyo3-build-config-019d4e6de4718a79/out

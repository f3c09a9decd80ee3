/work/main/target-base/release/deps/rawpointer-fd9e57fdaee9b917.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/rawpointer-0.2.1/src/lib.rs

/work/main/target-base/release/deps/librawpointer-fd9e57fdaee9b917.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/rawpointer-0.2.1/src/lib.rs

/work/main/target-base/release/deps/librawpointer-fd9e57fdaee9b917.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/rawpointer-0.2.1/src/lib.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/rawpointer-0.2.1/src/lib.rs:

/work/main/target-base/release/deps/_core.d: rust/src/lib.rs rust/src/bits.rs rust/src/container/mod.rs rust/src/container/avi.rs rust/src/container/avi_resync.rs rust/src/container/mkv.rs rust/src/container/mp4.rs rust/src/container/mp4_fragments.rs rust/src/container/raw.rs rust/src/dct.rs rust/src/decoded.rs rust/src/error.rs rust/src/frame_iter.rs rust/src/mpeg4/mod.rs rust/src/mpeg4/bvop.rs rust/src/mpeg4/clock.rs rust/src/mpeg4/coefficients.rs rust/src/mpeg4/decoder.rs rust/src/mpeg4/gmc.rs rust/src/mpeg4/header.rs rust/src/mpeg4/idct.rs rust/src/mpeg4/interlaced.rs rust/src/mpeg4/macroblock.rs rust/src/mpeg4/mb_pred.rs rust/src/mpeg4/mc.rs rust/src/mpeg4/mode.rs rust/src/mpeg4/mv.rs rust/src/mpeg4/packet.rs rust/src/mpeg4/partitioned.rs rust/src/mpeg4/qpel.rs rust/src/mpeg4/quirks.rs rust/src/mpeg4/recon.rs rust/src/mpeg4/tables.rs rust/src/mpeg4/texture.rs rust/src/mpeg4/vlc.rs rust/src/repr/mod.rs rust/src/repr/batch.rs rust/src/repr/colour.rs rust/src/repr/external_frames.rs rust/src/repr/footprint.rs rust/src/repr/gop.rs rust/src/repr/native.rs rust/src/repr/residual.rs rust/src/repr/source_map.rs rust/src/simd/mod.rs rust/src/simd/colour_avx2.rs rust/src/simd/hpel_avx2.rs rust/src/simd/idct_avx2.rs rust/src/simd/qpel_avx2.rs rust/src/video.rs rust/src/video/packed.rs rust/src/python/mod.rs rust/src/python/colour.rs rust/src/python/dct.rs rust/src/python/errors.rs rust/src/python/frame_iter.rs rust/src/python/representations.rs rust/src/python/video.rs

/work/main/target-base/release/deps/lib_core.so: rust/src/lib.rs rust/src/bits.rs rust/src/container/mod.rs rust/src/container/avi.rs rust/src/container/avi_resync.rs rust/src/container/mkv.rs rust/src/container/mp4.rs rust/src/container/mp4_fragments.rs rust/src/container/raw.rs rust/src/dct.rs rust/src/decoded.rs rust/src/error.rs rust/src/frame_iter.rs rust/src/mpeg4/mod.rs rust/src/mpeg4/bvop.rs rust/src/mpeg4/clock.rs rust/src/mpeg4/coefficients.rs rust/src/mpeg4/decoder.rs rust/src/mpeg4/gmc.rs rust/src/mpeg4/header.rs rust/src/mpeg4/idct.rs rust/src/mpeg4/interlaced.rs rust/src/mpeg4/macroblock.rs rust/src/mpeg4/mb_pred.rs rust/src/mpeg4/mc.rs rust/src/mpeg4/mode.rs rust/src/mpeg4/mv.rs rust/src/mpeg4/packet.rs rust/src/mpeg4/partitioned.rs rust/src/mpeg4/qpel.rs rust/src/mpeg4/quirks.rs rust/src/mpeg4/recon.rs rust/src/mpeg4/tables.rs rust/src/mpeg4/texture.rs rust/src/mpeg4/vlc.rs rust/src/repr/mod.rs rust/src/repr/batch.rs rust/src/repr/colour.rs rust/src/repr/external_frames.rs rust/src/repr/footprint.rs rust/src/repr/gop.rs rust/src/repr/native.rs rust/src/repr/residual.rs rust/src/repr/source_map.rs rust/src/simd/mod.rs rust/src/simd/colour_avx2.rs rust/src/simd/hpel_avx2.rs rust/src/simd/idct_avx2.rs rust/src/simd/qpel_avx2.rs rust/src/video.rs rust/src/video/packed.rs rust/src/python/mod.rs rust/src/python/colour.rs rust/src/python/dct.rs rust/src/python/errors.rs rust/src/python/frame_iter.rs rust/src/python/representations.rs rust/src/python/video.rs

rust/src/lib.rs:
rust/src/bits.rs:
rust/src/container/mod.rs:
rust/src/container/avi.rs:
rust/src/container/avi_resync.rs:
rust/src/container/mkv.rs:
rust/src/container/mp4.rs:
rust/src/container/mp4_fragments.rs:
rust/src/container/raw.rs:
rust/src/dct.rs:
rust/src/decoded.rs:
rust/src/error.rs:
rust/src/frame_iter.rs:
rust/src/mpeg4/mod.rs:
rust/src/mpeg4/bvop.rs:
rust/src/mpeg4/clock.rs:
rust/src/mpeg4/coefficients.rs:
rust/src/mpeg4/decoder.rs:
rust/src/mpeg4/gmc.rs:
rust/src/mpeg4/header.rs:
rust/src/mpeg4/idct.rs:
rust/src/mpeg4/interlaced.rs:
rust/src/mpeg4/macroblock.rs:
rust/src/mpeg4/mb_pred.rs:
rust/src/mpeg4/mc.rs:
rust/src/mpeg4/mode.rs:
rust/src/mpeg4/mv.rs:
rust/src/mpeg4/packet.rs:
rust/src/mpeg4/partitioned.rs:
rust/src/mpeg4/qpel.rs:
rust/src/mpeg4/quirks.rs:
rust/src/mpeg4/recon.rs:
rust/src/mpeg4/tables.rs:
rust/src/mpeg4/texture.rs:
rust/src/mpeg4/vlc.rs:
rust/src/repr/mod.rs:
rust/src/repr/batch.rs:
rust/src/repr/colour.rs:
rust/src/repr/external_frames.rs:
rust/src/repr/footprint.rs:
rust/src/repr/gop.rs:
rust/src/repr/native.rs:
rust/src/repr/residual.rs:
rust/src/repr/source_map.rs:
rust/src/simd/mod.rs:
rust/src/simd/colour_avx2.rs:
rust/src/simd/hpel_avx2.rs:
rust/src/simd/idct_avx2.rs:
rust/src/simd/qpel_avx2.rs:
rust/src/video.rs:
rust/src/video/packed.rs:
rust/src/python/mod.rs:
rust/src/python/colour.rs:
rust/src/python/dct.rs:
rust/src/python/errors.rs:
rust/src/python/frame_iter.rs:
rust/src/python/representations.rs:
rust/src/python/video.rs:

# env-dep:CARGO_PKG_VERSION=0.1.0

//! The f32 matrix-multiply kernel tract runs in the wasm SIMD build of the `ml` feature.
//!
//! tract 0.23.9 runs every f32 GEMM in wasm on its 8x8 kernel: 16 v128 accumulators, plus the B
//! vectors and A broadcasts of a k step, more vectors than x86-64's 16 SIMD registers, so V8
//! cannot keep them all in registers through the loop. This kernel computes the same 8x8 tile,
//! from the same packed panels, in two passes of four rows: a pass holds 8 accumulators, two B
//! vectors, one A vector and its lane broadcasts (13 vectors). The B panel of a tile (k x 8
//! floats) is read twice, from cache. Measured on the classifier's 512-token window
//! (benches/results/ml_profile.md): 1.4-1.5x faster than tract's 8x8 in Node; of the tile shapes
//! tried there, those made of 4-row passes (4x8, 8x8, 16x8) ran alike and fastest, and tract's
//! 8x8 and 4x16 (16 accumulators each) slowest. The arithmetic is tract's own (a multiply, then
//! an add, in k order), so the logits are bit for bit those of tract's kernel.
//!
//! It plugs into tract through tract-linalg's public registries, without patching tract:
//! - `MmmRoutine`s make the kernel, and a copy of tract's 8x1 matrix-vector kernel under our
//!   name, known to dispatch, both with a boost above tract's wasm kernels: for a matmul whose
//!   `n` is symbolic at optimisation time (the sequence axis: every linear layer and attention
//!   product of the classifier) tract picks the best-boosted packing group, and this pair is the
//!   group tract would otherwise use (8x1 for a one-column call, 8x8 for the rest);
//! - a `MmmTier` above tract's "wasm-simd128" tier names the kernel for every f32 GEMM whose
//!   `n` is known and above 1 (matrix-vector and integer matmuls stay with tract's tier).
//!
//! The kernel reads raw pointers from tract's op list, hence the one `allow(unsafe_code)` of the
//! crate (src/ml/mod.rs). Anything it cannot do (a packing or an element size it does not know)
//! returns a non-zero code, which tract reports as an error, never as a wrong result.

use std::arch::wasm32::*;
use tract_onnx::prelude::DatumType;
use tract_onnx::tract_core::tract_linalg as linalg;

use linalg::isa::{Arch, IsaSet};
use linalg::mmm::{DynKernel, FusedKerSpec, OutputStoreKer, Query, Suitable};
use linalg::mmm_routines::MmmRoutine;
use linalg::mmm_tiers::MmmTier;

/// The kernel's name in tract's registry.
pub const KERNEL: &str = "headroom_wasm_f32_8x8";
/// tract's 8x1 matrix-vector kernel, registered again under our boost (see the module docs).
pub const GEMV_KERNEL: &str = "headroom_wasm_f32_8x1";

const MR: usize = 8;
/// v128 vectors per row of the tile (NR = 8 columns).
const NV: usize = 2;
/// Rows per pass of the matmul loop.
const PASS: usize = 4;

/// What the kernel returns for an op it cannot do; tract fails the run on any non-zero value.
pub const UNSUPPORTED: isize = 1;

/// Above tract's wasm kernels (boost 0, instruction-set level 0), so that tract's
/// best-preference filter keeps this pair alone among the f32 kernels.
fn boost() -> isize {
    1
}

/// This kernel, with tract's 8x8 packings, stores and fusions: only the code differs.
pub fn kernel_f32_8x8() -> DynKernel<MR, 8, f32> {
    let mut k = (*linalg::wasm::wasm_f32_8x8).clone();
    k.name = KERNEL.to_string();
    k.kernel = kernel;
    k.with_boost(boost)
}

fn gemv_f32_8x1() -> DynKernel<MR, 1, f32> {
    let mut k = (*linalg::wasm::wasm_f32_8x1).clone();
    k.name = GEMV_KERNEL.to_string();
    k.with_boost(boost)
}

inventory::submit! {
    MmmRoutine { make: || kernel_f32_8x8().mmm() }
}

inventory::submit! {
    MmmRoutine { make: || gemv_f32_8x1().mmm() }
}

/// Our tier's answer: this kernel for every f32 GEMM (`n` unknown or above 1).
fn preferred(_: &IsaSet, dt: DatumType, query: &Query, _: &[Suitable]) -> Option<&'static str> {
    (dt == DatumType::F32 && !matches!(query.n, Some(0 | 1))).then_some(KERNEL)
}

inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        // tract's own wasm tier is 1.
        precedence: 2,
        name: "headroom-wasm-f32",
        applies: |_| true,
        preferred,
    }
}

/// Keeps this module's registry entries in the link: wasm-ld drops an object nothing
/// references, its inventory constructors included. Called before every model load.
pub fn link() {
    std::hint::black_box(kernel as unsafe fn(&[FusedKerSpec<f32>]) -> isize);
}

type Tile = [[v128; NV]; MR];

/// Runs the fused op list tract sends one tile: `Clear`, the matmul, the fused element-wise
/// ops and the stores, up to `Done`. The accumulators live in memory here; only the matmul's
/// inner loop (`add_mat_mul_rows`) keeps them in registers.
///
/// # Safety
/// Every pointer in `specs` must be valid as tract's scratch space lays it out for an 8x8
/// tile: packed panels of `k` steps of 8 floats, 8 values for a per-row or per-column operand,
/// an 8x8 tile for loads and stores.
unsafe fn kernel(specs: &[FusedKerSpec<f32>]) -> isize {
    let mut acc: Tile = [[f32x4_splat(0.0); NV]; MR];
    for spec in specs {
        match *spec {
            FusedKerSpec::Done => break,
            FusedKerSpec::Clear => acc = [[f32x4_splat(0.0); NV]; MR],
            // Test-only in tract: the tile, given both column-major and row-major.
            FusedKerSpec::LoadTile(_col_major, row_major) => {
                for (r, row) in acc.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = v128_load(row_major.add(r * 4 * NV + 4 * j) as *const v128);
                    }
                }
            }
            // `op(scalar, acc)`, except the flipped `*SubF`: `acc - scalar`.
            FusedKerSpec::ScalarMin(s) => each(&mut acc, |v| f32x4_min(f32x4_splat(s), v)),
            FusedKerSpec::ScalarMax(s) => each(&mut acc, |v| f32x4_max(f32x4_splat(s), v)),
            FusedKerSpec::ScalarAdd(s) => each(&mut acc, |v| f32x4_add(f32x4_splat(s), v)),
            FusedKerSpec::ScalarMul(s) => each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v)),
            FusedKerSpec::ScalarSub(s) => each(&mut acc, |v| f32x4_sub(f32x4_splat(s), v)),
            FusedKerSpec::ScalarSubF(s) => each(&mut acc, |v| f32x4_sub(v, f32x4_splat(s))),
            FusedKerSpec::LeakyRelu(alpha) => each(&mut acc, |v| {
                v128_bitselect(v, f32x4_mul(f32x4_splat(alpha), v), f32x4_gt(v, f32x4_splat(0.0)))
            }),
            FusedKerSpec::PerRowMin(p) => per_row(&mut acc, p, |s, v| f32x4_min(s, v)),
            FusedKerSpec::PerRowMax(p) => per_row(&mut acc, p, |s, v| f32x4_max(s, v)),
            FusedKerSpec::PerRowAdd(p) => per_row(&mut acc, p, |s, v| f32x4_add(s, v)),
            FusedKerSpec::PerRowMul(p) => per_row(&mut acc, p, |s, v| f32x4_mul(s, v)),
            FusedKerSpec::PerRowSub(p) => per_row(&mut acc, p, |s, v| f32x4_sub(s, v)),
            FusedKerSpec::PerRowSubF(p) => per_row(&mut acc, p, |s, v| f32x4_sub(v, s)),
            FusedKerSpec::PerColMin(p) => per_col(&mut acc, p, |c, v| f32x4_min(c, v)),
            FusedKerSpec::PerColMax(p) => per_col(&mut acc, p, |c, v| f32x4_max(c, v)),
            FusedKerSpec::PerColAdd(p) => per_col(&mut acc, p, |c, v| f32x4_add(c, v)),
            FusedKerSpec::PerColMul(p) => per_col(&mut acc, p, |c, v| f32x4_mul(c, v)),
            FusedKerSpec::PerColSub(p) => per_col(&mut acc, p, |c, v| f32x4_sub(c, v)),
            FusedKerSpec::PerColSubF(p) => per_col(&mut acc, p, |c, v| f32x4_sub(v, c)),
            // The requantization steps, as tract's f32 kernels read them: scales.
            FusedKerSpec::QScale(shift, policy, mult) => {
                let s = linalg::Scaler::from_fuse_params(shift, policy, mult).scale;
                each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
            }
            FusedKerSpec::RoundingShiftRight(shift, _) => {
                let s = 2f32.powi(-(shift as i32));
                each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
            }
            FusedKerSpec::ShiftLeft(shift) => {
                let s = 2f32.powi(shift as i32);
                each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
            }
            FusedKerSpec::AddUnicast(tile) => {
                if tile.item_size != 4 {
                    return UNSUPPORTED;
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = f32x4_add(*v, load_strided(&tile, r, 4 * j));
                    }
                }
            }
            FusedKerSpec::AddRowColProducts(rows, cols) => {
                for (r, row) in acc.iter_mut().enumerate() {
                    let s = f32x4_splat(*rows.add(r));
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = f32x4_add(*v, f32x4_mul(s, v128_load(cols.add(4 * j) as *const v128)));
                    }
                }
            }
            FusedKerSpec::Store(tile) => {
                if tile.item_size != 4 {
                    return UNSUPPORTED;
                }
                store(&acc, &tile);
            }
            FusedKerSpec::AddMatMul { k, pa, pb, packing } => {
                // tract's 8x8 has one packing pair; a kernel sharing its list has the same.
                if packing != 0 {
                    return UNSUPPORTED;
                }
                for (p, rows) in acc.chunks_exact_mut(PASS).enumerate() {
                    if let Ok(rows) = <&mut [[v128; NV]; PASS]>::try_from(rows) {
                        add_mat_mul_rows(rows, k, (pa as *const f32).add(p * PASS), pb as *const v128);
                    }
                }
            }
        }
    }
    0
}

/// `acc += A·B` for four rows of the tile: `a` points at the rows' first k step in A's packed
/// panel (8 floats per step), `b` at B's (two vectors per step). Not inlined, so that V8
/// allocates registers for this loop alone: the 8 accumulators are loaded once, stay in
/// registers for all `k` steps and are stored once. A's four values of a step are read as one
/// vector and broadcast lane by lane with a shuffle (measured alike or a little faster than four
/// `v128.load32_splat`); unrolling the loop by 2 or 4 made it slower.
#[inline(never)]
unsafe fn add_mat_mul_rows(acc: &mut [[v128; NV]; PASS], k: usize, mut a: *const f32, mut b: *const v128) {
    let mut c = *acc;
    for _ in 0..k {
        let av = v128_load(a as *const v128);
        let (b0, b1) = (v128_load(b), v128_load(b.add(1)));
        let lanes = [
            i32x4_shuffle::<0, 0, 0, 0>(av, av),
            i32x4_shuffle::<1, 1, 1, 1>(av, av),
            i32x4_shuffle::<2, 2, 2, 2>(av, av),
            i32x4_shuffle::<3, 3, 3, 3>(av, av),
        ];
        for (row, s) in c.iter_mut().zip(lanes) {
            row[0] = f32x4_add(row[0], f32x4_mul(s, b0));
            row[1] = f32x4_add(row[1], f32x4_mul(s, b1));
        }
        a = a.add(MR);
        b = b.add(NV);
    }
    *acc = c;
}

fn each(acc: &mut Tile, f: impl Fn(v128) -> v128) {
    for v in acc.iter_mut().flatten() {
        *v = f(*v);
    }
}

/// `acc[r] = f(splat(p[r]), acc[r])`.
unsafe fn per_row(acc: &mut Tile, p: *const f32, f: impl Fn(v128, v128) -> v128) {
    for (r, row) in acc.iter_mut().enumerate() {
        let s = f32x4_splat(*p.add(r));
        for v in row.iter_mut() {
            *v = f(s, *v);
        }
    }
}

/// `acc[.][j] = f(p[4j..4j + 4], acc[.][j])`.
unsafe fn per_col(acc: &mut Tile, p: *const f32, f: impl Fn(v128, v128) -> v128) {
    for row in acc.iter_mut() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = f(v128_load(p.add(4 * j) as *const v128), *v);
        }
    }
}

/// The four f32 of row `r`, columns `c..c + 4`, of a strided tile.
unsafe fn load_strided(tile: &OutputStoreKer, r: usize, c: usize) -> v128 {
    let at = |c: usize| -> f32 {
        *(tile.ptr.offset(tile.row_byte_stride * r as isize + tile.col_byte_stride * c as isize) as *const f32)
    };
    f32x4(at(c), at(c + 1), at(c + 2), at(c + 3))
}

unsafe fn store(acc: &Tile, tile: &OutputStoreKer) {
    for (r, row) in acc.iter().enumerate() {
        let base = tile.ptr.offset(tile.row_byte_stride * r as isize);
        for (j, v) in row.iter().enumerate() {
            if tile.col_byte_stride == 4 {
                v128_store(base.add(16 * j) as *mut v128, *v);
            } else {
                let at = |c: usize| base.offset(tile.col_byte_stride * (4 * j + c) as isize) as *mut f32;
                *at(0) = f32x4_extract_lane::<0>(*v);
                *at(1) = f32x4_extract_lane::<1>(*v);
                *at(2) = f32x4_extract_lane::<2>(*v);
                *at(3) = f32x4_extract_lane::<3>(*v);
            }
        }
    }
}

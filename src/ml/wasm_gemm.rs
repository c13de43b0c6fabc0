//! f32 matrix-multiply kernels for tract in wasm (simd128 builds of the `ml` feature).
//!
//! tract 0.23.9 runs every f32 GEMM in wasm on its 8x8 kernel, whose 16 v128 accumulators
//! alone outnumber the SIMD registers V8 allocates on x86-64 (xmm0-14), so TurboFan keeps some
//! of them on the stack and reloads and stores them on every k step. The kernels here keep
//! their whole working set in registers: an MR x 4·NV tile of accumulators, NV vectors of B and
//! one broadcast of A, read with `v128.load32_splat` (a single memory-operand broadcast, no
//! shuffle) per row and k step.
//!
//! They plug into tract through its public registries, without patching it: a `MmmRoutine`
//! makes each kernel known, a boost above tract's wasm kernels makes it the pick for matmuls
//! whose `n` is symbolic at optimisation time (the sequence axis), and a `MmmTier` above tract's
//! "wasm-simd128" tier names it for every f32 GEMM with a known `n > 1`.
//!
//! EXPERIMENT: several tile shapes are registered and `select` picks which one wins, so that
//! one build can compare them; the shipped version keeps the best one only.

use std::arch::wasm32::*;
use std::sync::atomic::{AtomicU32, Ordering};
use tract_onnx::prelude::DatumType;
use tract_onnx::tract_core::tract_linalg as linalg;

use linalg::isa::{Arch, IsaSet};
use linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, OutputStoreKer, Query, Suitable};
use linalg::mmm_routines::MmmRoutine;
use linalg::mmm_tiers::MmmTier;
use linalg::pack::Packing;

/// A kernel's answer when it is handed something it cannot do; tract turns any non-zero return
/// into an error ("Kernel ... returned error"), never a wrong result.
const UNSUPPORTED: isize = 1;

/// Which variant wins (0: none of ours, tract's own dispatch).
static SELECTED: AtomicU32 = AtomicU32::new(0);

pub fn select(variant: u32) {
    SELECTED.store(variant, Ordering::Relaxed);
}

fn selected() -> u32 {
    SELECTED.load(Ordering::Relaxed)
}

/// The fused op list tract sends one tile: `Clear`, the matmul, the fused element-wise ops and
/// the stores, ending with `Done`. The accumulators live in memory here; only the matmul's inner
/// loop (`add_mat_mul`) holds them in registers.
///
/// # Safety
/// Every pointer in `specs` must be valid for the tile as tract's scratch space lays it out:
/// `MR` rows of A and `4 * NV` columns of B per k step, `MR` or `4 * NV` values for per-row and
/// per-column operands, an `MR x 4 * NV` tile for loads and stores.
unsafe fn kernel<const MR: usize, const NV: usize>(specs: &[FusedKerSpec<f32>]) -> isize {
    let mut acc = [[f32x4_splat(0.0); NV]; MR];
    for spec in specs {
        match *spec {
            FusedKerSpec::Done => break,
            FusedKerSpec::Clear => acc = [[f32x4_splat(0.0); NV]; MR],
            FusedKerSpec::LoadTile(_col_major, row_major) => {
                for (r, row) in acc.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = v128_load(row_major.add(r * 4 * NV + 4 * j) as *const v128);
                    }
                }
            }
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
            // The integer requantization steps, as tract's f32 kernels read them: a scale.
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
                if packing != 0 {
                    return UNSUPPORTED;
                }
                add_mat_mul(&mut acc, k, pa as *const f32, pb as *const v128);
            }
        }
    }
    0
}

/// `acc += A·B` over `k` steps of the packed panels: A `[k][MR]`, B `[k][4·NV]`. Not inlined,
/// so that V8 allocates registers for this loop alone: the accumulators are loaded once, stay in
/// registers for all `k` steps and are stored once.
#[inline(never)]
unsafe fn add_mat_mul<const MR: usize, const NV: usize>(
    acc: &mut [[v128; NV]; MR],
    k: usize,
    mut a: *const f32,
    mut b: *const v128,
) {
    let mut c = *acc;
    for _ in 0..k {
        let mut bv = [f32x4_splat(0.0); NV];
        for (j, v) in bv.iter_mut().enumerate() {
            *v = v128_load(b.add(j));
        }
        for (r, row) in c.iter_mut().enumerate() {
            let s = v128_load32_splat(a.add(r) as *const u32);
            for (v, bj) in row.iter_mut().zip(bv) {
                *v = f32x4_add(*v, f32x4_mul(s, bj));
            }
        }
        a = a.add(MR);
        b = b.add(NV);
    }
    *acc = c;
}

/// The 4x8 tile with A read as one vector per k step and broadcast lane by lane with a shuffle
/// (tract's 8x8 does this), for comparison with `load32_splat`.
#[inline(never)]
unsafe fn add_mat_mul_4x8_shuffle(acc: &mut [[v128; 2]; 4], k: usize, a: *const f32, mut b: *const v128) {
    let mut c = *acc;
    let mut a = a as *const v128;
    for _ in 0..k {
        let av = v128_load(a);
        let (b0, b1) = (v128_load(b), v128_load(b.add(1)));
        let s = [
            i32x4_shuffle::<0, 0, 0, 0>(av, av),
            i32x4_shuffle::<1, 1, 1, 1>(av, av),
            i32x4_shuffle::<2, 2, 2, 2>(av, av),
            i32x4_shuffle::<3, 3, 3, 3>(av, av),
        ];
        for (row, s) in c.iter_mut().zip(s) {
            row[0] = f32x4_add(row[0], f32x4_mul(s, b0));
            row[1] = f32x4_add(row[1], f32x4_mul(s, b1));
        }
        a = a.add(1);
        b = b.add(2);
    }
    *acc = c;
}

unsafe fn kernel_4x8_shuffle(specs: &[FusedKerSpec<f32>]) -> isize {
    // Same fused ops as `kernel::<4, 2>`, only the matmul differs: run the matmul-free list
    // through the generic kernel around our own loop by splitting at AddMatMul is not possible
    // (the accumulators are local), so the whole list is interpreted here.
    let mut acc = [[f32x4_splat(0.0); 2]; 4];
    for spec in specs {
        match *spec {
            FusedKerSpec::Done => break,
            FusedKerSpec::Clear => acc = [[f32x4_splat(0.0); 2]; 4],
            FusedKerSpec::AddMatMul { k, pa, pb, packing: 0 } => {
                add_mat_mul_4x8_shuffle(&mut acc, k, pa as *const f32, pb as *const v128)
            }
            FusedKerSpec::PerRowAdd(p) => per_row(&mut acc, p, |s, v| f32x4_add(s, v)),
            FusedKerSpec::PerColAdd(p) => per_col(&mut acc, p, |c, v| f32x4_add(c, v)),
            FusedKerSpec::ScalarMul(s) => each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v)),
            FusedKerSpec::Store(tile) if tile.item_size == 4 => store(&acc, &tile),
            _ => return UNSUPPORTED,
        }
    }
    0
}

fn each<const MR: usize, const NV: usize>(acc: &mut [[v128; NV]; MR], f: impl Fn(v128) -> v128) {
    for v in acc.iter_mut().flatten() {
        *v = f(*v);
    }
}

/// `acc[r] = f(splat(p[r]), acc[r])`.
unsafe fn per_row<const MR: usize, const NV: usize>(
    acc: &mut [[v128; NV]; MR],
    p: *const f32,
    f: impl Fn(v128, v128) -> v128,
) {
    for (r, row) in acc.iter_mut().enumerate() {
        let s = f32x4_splat(*p.add(r));
        for v in row.iter_mut() {
            *v = f(s, *v);
        }
    }
}

/// `acc[.][j] = f(p[4j..4j+4], acc[.][j])`.
unsafe fn per_col<const MR: usize, const NV: usize>(
    acc: &mut [[v128; NV]; MR],
    p: *const f32,
    f: impl Fn(v128, v128) -> v128,
) {
    for row in acc.iter_mut() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = f(v128_load(p.add(4 * j) as *const v128), *v);
        }
    }
}

/// The four f32 of row `r`, columns `c..c+4`, of a strided tile.
unsafe fn load_strided(tile: &OutputStoreKer, r: usize, c: usize) -> v128 {
    let at = |c: usize| -> f32 {
        *(tile.ptr.offset(tile.row_byte_stride * r as isize + tile.col_byte_stride * c as isize) as *const f32)
    };
    f32x4(at(c), at(c + 1), at(c + 2), at(c + 3))
}

unsafe fn store<const MR: usize, const NV: usize>(acc: &[[v128; NV]; MR], tile: &OutputStoreKer) {
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

type KernelFn = unsafe fn(&[FusedKerSpec<f32>]) -> isize;

fn ours<const MR: usize, const NR: usize>(name: &str, f: KernelFn, boost: fn() -> isize) -> Box<dyn MatMatMul> {
    let mut k = DynKernel::<MR, NR, f32>::new(name, f, f32::packing(MR).align(16), f32::packing(NR).align(16));
    k.arch = Some(Arch::Wasm32Simd128);
    k.with_boost(boost).mmm()
}

fn renamed<const MR: usize, const NR: usize>(
    k: &DynKernel<MR, NR, f32>,
    name: &str,
    boost: fn() -> isize,
) -> Box<dyn MatMatMul> {
    let mut k = k.clone();
    k.name = name.to_string();
    k.with_boost(boost).mmm()
}

macro_rules! variants {
    ($($ix:literal $name:literal => $make:expr;)*) => {
        const NAMES: &[(u32, &str)] = &[$(($ix, $name)),*];
        $(
            inventory::submit! {
                MmmRoutine { make: || { let boost: fn() -> isize = || if selected() == $ix { 1 } else { -1 }; ($make)($name, boost) } }
            }
        )*
    };
}

variants! {
    1 "hr_f32_4x8" => |n, b| ours::<4, 8>(n, kernel::<4, 2>, b);
    2 "hr_f32_5x8" => |n, b| ours::<5, 8>(n, kernel::<5, 2>, b);
    3 "hr_f32_6x8" => |n, b| ours::<6, 8>(n, kernel::<6, 2>, b);
    4 "hr_f32_8x8" => |n, b| ours::<8, 8>(n, kernel::<8, 2>, b);
    5 "hr_f32_8x4" => |n, b| ours::<8, 4>(n, kernel::<8, 1>, b);
    6 "hr_f32_12x4" => |n, b| ours::<12, 4>(n, kernel::<12, 1>, b);
    7 "hr_f32_4x8_shuffle" => |n, b| ours::<4, 8>(n, kernel_4x8_shuffle, b);
    8 "tract_f32_4x4" => |n, b| renamed(&linalg::wasm::wasm_f32_4x4, n, b);
    9 "tract_f32_4x16" => |n, b| renamed(&linalg::wasm::wasm_f32_4x16, n, b);
    10 "hr_f32_2x16" => |n, b| ours::<2, 16>(n, kernel::<2, 4>, b);
    11 "hr_f32_3x8" => |n, b| ours::<3, 8>(n, kernel::<3, 2>, b);
}

fn preferred(_: &IsaSet, dt: DatumType, query: &Query, _: &[Suitable]) -> Option<&'static str> {
    if dt != DatumType::F32 || matches!(query.n, Some(0 | 1)) {
        return None;
    }
    let s = selected();
    NAMES.iter().find(|(ix, _)| *ix == s).map(|(_, name)| *name)
}

inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        precedence: 2,
        name: "headroom-wasm-gemm",
        applies: |_| true,
        preferred,
    }
}

/// Keeps this module's registry entries in the link (wasm-ld drops an object nothing
/// references, its inventory constructors included).
pub fn link() {
    std::hint::black_box(kernel::<4, 2> as KernelFn);
}

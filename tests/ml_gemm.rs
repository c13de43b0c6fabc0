// f32 matrix products through tract, as the ML classifier runs them, against a plain triple
// loop: odd shapes (border tiles in both directions), a constant or run-time A, a known or
// symbolic `n`, and the bias, activation and scale tract fuses into its matmul. On every target;
// in the wasm SIMD build (`ml` + `+simd128`) it also holds src/ml/wasm_gemm.rs's kernel to each
// fused op of tract's kernel interface and checks that dispatch picks it.
#![cfg(feature = "ml")]
#![allow(clippy::unwrap_used)]

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Deterministic values in [-1, 1), never zero (so min/max and signs are unambiguous).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let v = ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
        if v == 0.0 {
            0.5
        } else {
            v
        }
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// `a (m x k) · b (k x n)`, summed in k order from zero, one multiply then one add per step.
fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f32;
            for x in 0..k {
                s += a[i * k + x] * b[x * n + j];
            }
            c[i * n + j] = s;
        }
    }
    c
}

fn tensor(shape: &[usize], v: &[f32]) -> Tensor {
    tract_ndarray::ArrayD::from_shape_vec(shape, v.to_vec()).unwrap().into_tensor()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}: element {i}: {g} vs {w}");
    }
}

/// `C = A·B` with A `[m, k]` (a constant when `a_const`, else an input) and B `[k, n]`, `n`
/// symbolic when `symbolic_n`; returns the optimised model.
fn matmul_model(a: &[f32], m: usize, k: usize, n: usize, a_const: bool, symbolic_n: bool) -> TypedModel {
    let mut model = TypedModel::default();
    let n_dim = if symbolic_n { model.symbols.sym("S").to_dim() } else { n.to_dim() };
    let a = if a_const {
        model.add_const("a", tensor(&[m, k], a)).unwrap()
    } else {
        model.add_source("a", f32::fact([m, k])).unwrap()
    };
    let b = model.add_source("b", f32::fact(tvec![k.to_dim(), n_dim])).unwrap();
    let c = model.wire_node("mm", EinSum::new("mk,kn->mn".parse().unwrap(), f32::datum_type()), &[a, b]).unwrap();
    model.select_output_outlets(&c).unwrap();
    model.into_optimized().unwrap()
}

fn run(model: &TypedModel, inputs: Vec<Tensor>) -> Vec<f32> {
    let plan = model.clone().into_runnable().unwrap();
    let out = plan.run(inputs.into_iter().map(|t| t.into_tvalue()).collect()).unwrap();
    out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
}

const SHAPES: &[(usize, usize, usize)] = &[
    (8, 8, 8),
    (16, 24, 32),
    (13, 7, 9),
    (9, 1, 17),
    (5, 33, 3),
    (1, 12, 10),
    (17, 65, 2),
    (24, 384, 19),
];

#[test]
fn odd_shapes_match_a_plain_loop() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for &(m, k, n) in SHAPES {
        let (a, b) = (rng.vec(m * k), rng.vec(k * n));
        let want = naive(&a, &b, m, k, n);
        for a_const in [true, false] {
            let model = matmul_model(&a, m, k, n, a_const, false);
            let mut inputs = vec![tensor(&[k, n], &b)];
            if !a_const {
                inputs.insert(0, tensor(&[m, k], &a));
            }
            assert_close(&run(&model, inputs), &want, &format!("m={m} k={k} n={n} a_const={a_const}"));
        }
    }
}

#[test]
fn a_symbolic_n_matches_a_plain_loop_at_every_length() {
    let mut rng = Rng(7);
    let (m, k) = (24, 40);
    let a = rng.vec(m * k);
    let model = matmul_model(&a, m, k, 0, true, true);
    for n in [1, 2, 7, 8, 9, 31] {
        let b = rng.vec(k * n);
        assert_close(&run(&model, vec![tensor(&[k, n], &b)]), &naive(&a, &b, m, k, n), &format!("n={n}"));
    }
}

#[test]
fn fused_bias_activation_and_scale_match_a_plain_loop() {
    // C = max(A·B + row_bias + col_bias, 0.1) * 0.5, wired as separate ops for tract to fuse.
    let mut rng = Rng(11);
    let (m, k, n) = (19, 23, 13);
    let (a, b, row_bias, col_bias) = (rng.vec(m * k), rng.vec(k * n), rng.vec(m), rng.vec(n));
    let mut model = TypedModel::default();
    let ai = model.add_const("a", tensor(&[m, k], &a)).unwrap();
    let bi = model.add_source("b", f32::fact([k, n])).unwrap();
    let c = model.wire_node("mm", EinSum::new("mk,kn->mn".parse().unwrap(), f32::datum_type()), &[ai, bi]).unwrap();
    let rb = model.add_const("row_bias", tensor(&[m, 1], &row_bias)).unwrap();
    let cb = model.add_const("col_bias", tensor(&[1, n], &col_bias)).unwrap();
    let lo = model.add_const("lo", tensor(&[1, 1], &[0.1])).unwrap();
    let half = model.add_const("half", tensor(&[1, 1], &[0.5])).unwrap();
    let c = model.wire_node("row", math::add(), &[c[0], rb]).unwrap();
    let c = model.wire_node("col", math::add(), &[c[0], cb]).unwrap();
    let c = model.wire_node("max", math::max(), &[c[0], lo]).unwrap();
    let c = model.wire_node("scale", math::mul(), &[c[0], half]).unwrap();
    model.select_output_outlets(&c).unwrap();
    let model = model.into_optimized().unwrap();
    let mut want = naive(&a, &b, m, k, n);
    for i in 0..m {
        for j in 0..n {
            let v = &mut want[i * n + j];
            *v = ((*v + row_bias[i]) + col_bias[j]).max(0.1) * 0.5;
        }
    }
    assert_close(&run(&model, vec![tensor(&[k, n], &b)]), &want, "fused");
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm_simd {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use headroom::ml::wasm_gemm::{kernel_f32_8x8, GEMV_KERNEL, KERNEL, UNSUPPORTED};
    use tract_onnx::tract_core::tract_linalg::mmm::{FusedKerSpec as K, MatMatMulKer, OutputStoreKer, RoundingPolicy};
    use tract_onnx::tract_core::tract_linalg::Scaler;

    /// The names of the kernels tract's optimised plan gives its matmuls.
    fn kernels(model: &TypedModel) -> Vec<String> {
        use tract_onnx::tract_core::ops::matmul::optimized::OptMatMul;
        model
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<OptMatMul>())
            .flat_map(|op| op.mmm.iter().map(|k| k.name().to_string()))
            .collect()
    }

    type Tile = [[f32; 8]; 8];

    fn tile(rng: &mut Rng) -> Tile {
        let mut t = [[0f32; 8]; 8];
        for row in t.iter_mut() {
            for v in row.iter_mut() {
                *v = rng.next();
            }
        }
        t
    }

    /// Runs `ops` on the kernel after loading `start` and stores the tile row-major.
    fn apply(start: &Tile, ops: &[K<f32>]) -> (isize, Tile) {
        let mut col_major = [0f32; 64];
        for r in 0..8 {
            for c in 0..8 {
                col_major[c * 8 + r] = start[r][c];
            }
        }
        let mut out = [[f32::NAN; 8]; 8];
        let mut specs = vec![K::LoadTile(col_major.as_ptr(), start.as_ptr() as *const f32)];
        specs.extend_from_slice(ops);
        specs.push(K::Store(OutputStoreKer { ptr: out.as_mut_ptr() as *mut u8, row_byte_stride: 32, col_byte_stride: 4, item_size: 4 }));
        specs.push(K::Done);
        let err = kernel_f32_8x8().kernel(&specs);
        (err, out)
    }

    fn expect(start: &Tile, ops: &[K<f32>], f: impl Fn(usize, usize, f32) -> f32, what: &str) {
        let (err, got) = apply(start, ops);
        assert_eq!(err, 0, "{what}");
        for r in 0..8 {
            for c in 0..8 {
                let want = f(r, c, start[r][c]);
                assert_eq!(got[r][c].to_bits(), want.to_bits(), "{what}: ({r}, {c}): {} vs {want}", got[r][c]);
            }
        }
    }

    #[test]
    fn every_fused_op_matches_its_scalar_meaning() {
        let mut rng = Rng(3);
        let t = tile(&mut rng);
        let s = 0.375f32;
        let rows: Vec<f32> = rng.vec(8);
        let cols: Vec<f32> = rng.vec(8);
        let (r, c) = (rows.as_ptr(), cols.as_ptr());
        expect(&t, &[], |_, _, x| x, "load and store");
        expect(&t, &[K::Clear], |_, _, _| 0.0, "clear");
        expect(&t, &[K::ScalarMin(s)], |_, _, x| s.min(x), "scalar min");
        expect(&t, &[K::ScalarMax(s)], |_, _, x| s.max(x), "scalar max");
        expect(&t, &[K::ScalarAdd(s)], |_, _, x| s + x, "scalar add");
        expect(&t, &[K::ScalarMul(s)], |_, _, x| s * x, "scalar mul");
        expect(&t, &[K::ScalarSub(s)], |_, _, x| s - x, "scalar sub");
        expect(&t, &[K::ScalarSubF(s)], |_, _, x| x - s, "scalar sub flipped");
        expect(&t, &[K::LeakyRelu(s)], |_, _, x| if x > 0.0 { x } else { s * x }, "leaky relu");
        expect(&t, &[K::PerRowMin(r)], |i, _, x| rows[i].min(x), "per-row min");
        expect(&t, &[K::PerRowMax(r)], |i, _, x| rows[i].max(x), "per-row max");
        expect(&t, &[K::PerRowAdd(r)], |i, _, x| rows[i] + x, "per-row add");
        expect(&t, &[K::PerRowMul(r)], |i, _, x| rows[i] * x, "per-row mul");
        expect(&t, &[K::PerRowSub(r)], |i, _, x| rows[i] - x, "per-row sub");
        expect(&t, &[K::PerRowSubF(r)], |i, _, x| x - rows[i], "per-row sub flipped");
        expect(&t, &[K::PerColMin(c)], |_, j, x| cols[j].min(x), "per-col min");
        expect(&t, &[K::PerColMax(c)], |_, j, x| cols[j].max(x), "per-col max");
        expect(&t, &[K::PerColAdd(c)], |_, j, x| cols[j] + x, "per-col add");
        expect(&t, &[K::PerColMul(c)], |_, j, x| cols[j] * x, "per-col mul");
        expect(&t, &[K::PerColSub(c)], |_, j, x| cols[j] - x, "per-col sub");
        expect(&t, &[K::PerColSubF(c)], |_, j, x| x - cols[j], "per-col sub flipped");
        let q = Scaler::from_fuse_params(3, RoundingPolicy::Even, 1 << 30).scale;
        assert_eq!(q, 1.0 / 16.0);
        expect(&t, &[K::QScale(3, RoundingPolicy::Even, 1 << 30)], |_, _, x| q * x, "q scale");
        expect(&t, &[K::RoundingShiftRight(2, RoundingPolicy::Even)], |_, _, x| 0.25 * x, "shift right");
        expect(&t, &[K::ShiftLeft(3)], |_, _, x| 8.0 * x, "shift left");
        expect(&t, &[K::AddRowColProducts(r, c)], |i, j, x| x + rows[i] * cols[j], "row-col products");
        // A tile stored with strides: every third column of a wider, column-major-ish buffer.
        let other: Vec<f32> = rng.vec(8 * 8 * 3);
        let (rs, cs) = (4 * 8 * 3, 4 * 3);
        let unicast = OutputStoreKer { ptr: other.as_ptr() as *mut u8, row_byte_stride: rs, col_byte_stride: cs, item_size: 4 };
        expect(&t, &[K::AddUnicast(unicast)], |i, j, x| x + other[i * 24 + j * 3], "add unicast, strided");
        // The ops in sequence, as tract sends a linear layer's epilogue.
        expect(
            &t,
            &[K::PerRowAdd(r), K::PerColMul(c), K::ScalarMax(0.0)],
            |i, j, x| 0f32.max(cols[j] * (rows[i] + x)),
            "epilogue",
        );
    }

    #[test]
    fn add_mat_mul_matches_a_plain_loop_at_any_k() {
        let mut rng = Rng(5);
        for k in [0usize, 1, 2, 3, 5, 8, 33, 384] {
            // Packed panels as tract lays them out: k steps of 8 rows of A, of 8 columns of B.
            let (pa, pb) = (rng.vec(8 * k + 8), rng.vec(8 * k + 8));
            let start = tile(&mut rng);
            let ops = [K::AddMatMul { k, pa: pa.as_ptr() as *const u8, pb: pb.as_ptr() as *const u8, packing: 0 }];
            expect(
                &start,
                &ops,
                |r, c, x| {
                    let mut s = x;
                    for i in 0..k {
                        s += pa[i * 8 + r] * pb[i * 8 + c];
                    }
                    s
                },
                &format!("k={k}"),
            );
        }
    }

    #[test]
    fn a_strided_store_writes_each_element_once() {
        let mut rng = Rng(9);
        let t = tile(&mut rng);
        // Column-major, into a buffer with a sentinel after the tile.
        let mut buf = vec![f32::NAN; 65];
        let specs = [
            K::LoadTile(std::ptr::null(), t.as_ptr() as *const f32),
            K::Store(OutputStoreKer { ptr: buf.as_mut_ptr() as *mut u8, row_byte_stride: 4, col_byte_stride: 32, item_size: 4 }),
            K::Done,
        ];
        assert_eq!(kernel_f32_8x8().kernel(&specs), 0);
        for r in 0..8 {
            for c in 0..8 {
                assert_eq!(buf[c * 8 + r], t[r][c]);
            }
        }
        assert!(buf[64].is_nan());
    }

    #[test]
    fn what_it_cannot_do_is_an_error_code() {
        let mut out = [0f32; 64];
        let f16_store = OutputStoreKer { ptr: out.as_mut_ptr() as *mut u8, row_byte_stride: 16, col_byte_stride: 2, item_size: 2 };
        let p = [0f32; 16];
        for (what, op) in [
            ("f16 store", K::Store(f16_store)),
            ("f16 unicast", K::AddUnicast(f16_store)),
            ("second packing", K::AddMatMul { k: 1, pa: p.as_ptr() as *const u8, pb: p.as_ptr() as *const u8, packing: 1 }),
        ] {
            assert_eq!(kernel_f32_8x8().kernel(&[K::Clear, op, K::Done]), UNSUPPORTED, "{what}");
        }
    }

    #[test]
    fn dispatch_picks_it_for_f32_gemms_only() {
        let mut rng = Rng(13);
        let a = rng.vec(16 * 24);
        assert_eq!(kernels(&matmul_model(&a, 16, 24, 32, true, false)), [KERNEL]);
        assert_eq!(kernels(&matmul_model(&a, 16, 24, 32, false, false)), [KERNEL]);
        // A symbolic n: tract's pair for a packing group, ours: the matrix-vector kernel for a
        // one-column call, this one for the rest.
        let mut picked = kernels(&matmul_model(&a, 16, 24, 0, true, true));
        picked.sort();
        assert_eq!(picked, [GEMV_KERNEL, KERNEL]);
        // A known n of 1 stays with tract's own matrix-vector dispatch.
        let gemv = kernels(&matmul_model(&a, 16, 24, 1, true, false));
        assert!(!gemv.iter().any(|k| k == KERNEL), "{gemv:?}");
    }
}

//! A hashed-feature multinomial logistic regression: the model behind language
//! identification and sentiment, its deterministic trainer, and its binary format.
//!
//! Binary format (little-endian):
//! ```text
//! magic  b"ATXM"          4 bytes
//! version u16 = 1
//! kind    u8  (1 = language, 2 = sentiment)
//! bits    u8  (hash table has 2^bits rows)
//! classes u8, then for each class: u8 length + UTF-8 code
//! flags   u32 (feature options, see `FeatureOptions`)
//! scale   f32 (weight = i8 * scale)
//! weights 2^bits * classes i8, row-major by bucket
//! check   u64 FNV-1a of every byte before it
//! ```

use thiserror::Error;

/// Why model bytes could not be loaded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("model bytes are truncated or empty")]
    Truncated,
    #[error("not an Atalaya text model (bad magic)")]
    BadMagic,
    #[error("unsupported model version {0}")]
    UnsupportedVersion(u16),
    #[error("model is for {found:?}, expected {expected:?}")]
    WrongKind { expected: ModelKind, found: u8 },
    #[error("model checksum mismatch: the bytes are corrupt")]
    BadChecksum,
    #[error("model header is invalid: {0}")]
    BadHeader(&'static str),
}

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Language = 1,
    Sentiment = 2,
}

const MAGIC: &[u8; 4] = b"ATXM";
const VERSION: u16 = 1;

/// FNV-1a over bytes, the hash used for features and the checksum.
pub fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Continues an FNV-1a hash with more bytes.
#[inline]
pub fn fnv_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Final avalanche (splitmix64), so that the low bits used as a bucket are well mixed.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A sparse feature vector: (bucket, value) pairs.
pub type Features = Vec<(u32, f32)>;

/// A trained model, weights quantized to i8.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    pub kind: ModelKind,
    pub bits: u8,
    pub classes: Vec<String>,
    pub flags: u32,
    pub scale: f32,
    pub weights: Vec<i8>,
}

impl LinearModel {
    pub fn mask(&self) -> u64 {
        (1u64 << self.bits) - 1
    }

    /// Raw scores (logits) for each class.
    pub fn scores(&self, features: &[(u32, f32)], out: &mut [f32]) {
        let k = self.classes.len();
        out.iter_mut().for_each(|s| *s = 0.0);
        for &(bucket, value) in features {
            let row = bucket as usize * k;
            if let Some(weights) = self.weights.get(row..row + k) {
                for (s, &w) in out.iter_mut().zip(weights) {
                    *s += f32::from(w) * value;
                }
            }
        }
        out.iter_mut().for_each(|s| *s *= self.scale);
    }

    /// The weight of one bucket for one class.
    pub fn weight(&self, bucket: u32, class: usize) -> f32 {
        let k = self.classes.len();
        self.weights
            .get(bucket as usize * k + class)
            .map_or(0.0, |&w| f32::from(w) * self.scale)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.weights.len() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(self.kind as u8);
        out.push(self.bits);
        out.push(u8::try_from(self.classes.len()).unwrap_or(u8::MAX));
        for class in &self.classes {
            out.push(u8::try_from(class.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(class.as_bytes());
        }
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.scale.to_le_bytes());
        out.extend(self.weights.iter().map(|&w| w.to_le_bytes()[0]));
        let check = fnv1a(&out, 0);
        out.extend_from_slice(&check.to_le_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8], expected: ModelKind) -> Result<LinearModel, ModelError> {
        if bytes.len() < 8 + 4 {
            return Err(ModelError::Truncated);
        }
        if &bytes[..4] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let (body, check) = bytes.split_at(bytes.len() - 8);
        let mut reader = Reader { bytes: body, at: 4 };
        let version = u16::from_le_bytes(reader.array()?);
        if version != VERSION {
            return Err(ModelError::UnsupportedVersion(version));
        }
        let check = u64::from_le_bytes(check.try_into().map_err(|_| ModelError::Truncated)?);
        if fnv1a(body, 0) != check {
            return Err(ModelError::BadChecksum);
        }
        let [kind] = reader.array()?;
        if kind != expected as u8 {
            return Err(ModelError::WrongKind {
                expected,
                found: kind,
            });
        }
        let [bits] = reader.array()?;
        if !(4..=26).contains(&bits) {
            return Err(ModelError::BadHeader("hash bits out of range"));
        }
        let [count] = reader.array()?;
        if count < 2 {
            return Err(ModelError::BadHeader("fewer than two classes"));
        }
        let mut classes = Vec::with_capacity(count.into());
        for _ in 0..count {
            let [len] = reader.array()?;
            let code = reader.take(len.into())?;
            classes.push(
                String::from_utf8(code.to_vec())
                    .map_err(|_| ModelError::BadHeader("class name"))?,
            );
        }
        let flags = u32::from_le_bytes(reader.array()?);
        let scale = f32::from_le_bytes(reader.array()?);
        if !scale.is_finite() {
            return Err(ModelError::BadHeader("scale"));
        }
        let expected_len = (1usize << bits) * classes.len();
        let weights = reader.take(expected_len)?;
        if reader.at != body.len() {
            return Err(ModelError::BadHeader("trailing bytes"));
        }
        let weights = weights.iter().map(|&b| i8::from_le_bytes([b])).collect();
        let kind = if kind == 1 {
            ModelKind::Language
        } else {
            ModelKind::Sentiment
        };
        Ok(LinearModel {
            kind,
            bits,
            classes,
            flags,
            scale,
            weights,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(len).ok_or(ModelError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(ModelError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let slice = self.take(N)?;
        slice.try_into().map_err(|_| ModelError::Truncated)
    }
}

/// Softmax in place; returns the index of the largest.
pub fn softmax(scores: &mut [f32]) -> usize {
    let mut best = 0;
    let mut max = f32::NEG_INFINITY;
    for (i, &s) in scores.iter().enumerate() {
        if s > max {
            max = s;
            best = i;
        }
    }
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    if sum > 0.0 {
        scores.iter_mut().for_each(|s| *s /= sum);
    }
    best
}

/// A small deterministic PRNG (splitmix64): the trainer must give the same bytes every run.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Hyper-parameters of the trainer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub bits: u8,
    pub epochs: usize,
    pub learning_rate: f64,
    /// L2 regularization strength.
    pub l2: f64,
    /// Weigh classes so that each has the same total weight (good for macro metrics).
    pub balance_classes: bool,
    pub seed: u64,
    /// Average the weights at the end of each of the last `average_epochs` epochs (Polyak
    /// averaging over epoch snapshots; 0: keep the last iterate). Averaging smooths the noise
    /// of the last SGD steps, which otherwise decide the weights of rare features.
    pub average_epochs: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            bits: 20,
            epochs: 10,
            learning_rate: 0.5,
            l2: 1e-6,
            balance_classes: true,
            seed: 42,
            average_epochs: 0,
        }
    }
}

/// One training example: its class index, its features and its weight.
#[derive(Debug, Clone)]
pub struct Example {
    pub class: usize,
    pub features: Features,
    pub weight: f32,
}

/// Trains float weights by SGD on the logistic loss with L2 (Bottou's scaling trick and
/// learning-rate schedule). Single-threaded and seeded: the same input gives the same output.
pub fn train_weights(examples: &[Example], classes: usize, options: &TrainOptions) -> Vec<f32> {
    train_scaled_weights(examples, classes, options, None)
}

/// [`train_weights`] with an optional input scale per (bucket, class), row-major like the
/// weights: class `c` sees feature `j` as `x_j * s_jc`. Used for NB-SVM-style log-count-ratio
/// scaling; the returned weights already include the scale (`w_jc * s_jc`), so a model reads
/// them as usual.
pub fn train_scaled_weights(
    examples: &[Example],
    classes: usize,
    options: &TrainOptions,
    input_scale: Option<&[f32]>,
) -> Vec<f32> {
    let rows = 1usize << options.bits;
    let mut weights = vec![0f64; rows * classes];
    let mut class_weight = vec![1f64; classes];
    if options.balance_classes {
        let mut totals = vec![0f64; classes];
        for e in examples {
            totals[e.class] += f64::from(e.weight);
        }
        let sum: f64 = totals.iter().sum();
        let present = totals.iter().filter(|&&t| t > 0.0).count().max(1) as f64;
        for (w, t) in class_weight.iter_mut().zip(&totals) {
            *w = if *t > 0.0 { sum / (present * t) } else { 1.0 };
        }
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = SplitMix(options.seed);
    let mut scale = 1f64;
    let mut step = 0f64;
    let mut scores = vec![0f64; classes];
    let lambda = options.l2;
    let mut average: Option<Vec<f64>> = None;
    let mut snapshots = 0u32;
    for epoch in 0..options.epochs {
        rng.shuffle(&mut order);
        for &index in &order {
            let example = &examples[index];
            let rate = options.learning_rate / (1.0 + options.learning_rate * lambda * step);
            step += 1.0;
            scores.iter_mut().for_each(|s| *s = 0.0);
            for &(bucket, value) in &example.features {
                let row = bucket as usize * classes;
                match input_scale {
                    None => {
                        for (s, w) in scores.iter_mut().zip(&weights[row..row + classes]) {
                            *s += w * f64::from(value);
                        }
                    }
                    Some(input_scale) => {
                        for ((s, w), r) in scores
                            .iter_mut()
                            .zip(&weights[row..row + classes])
                            .zip(&input_scale[row..row + classes])
                        {
                            *s += w * f64::from(value * r);
                        }
                    }
                }
            }
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s * scale - max * scale).exp();
                sum += *s;
            }
            let factor = class_weight[example.class] * f64::from(example.weight);
            // gradient of the loss w.r.t. each class score: p - y
            for (c, s) in scores.iter_mut().enumerate() {
                let p = *s / sum;
                *s = (p - if c == example.class { 1.0 } else { 0.0 }) * factor;
            }
            if lambda > 0.0 {
                scale *= 1.0 - rate * lambda;
            }
            let update = rate / scale;
            for &(bucket, value) in &example.features {
                let row = bucket as usize * classes;
                match input_scale {
                    None => {
                        for (w, g) in weights[row..row + classes].iter_mut().zip(&scores) {
                            *w -= update * g * f64::from(value);
                        }
                    }
                    Some(input_scale) => {
                        for ((w, g), r) in weights[row..row + classes]
                            .iter_mut()
                            .zip(&scores)
                            .zip(&input_scale[row..row + classes])
                        {
                            *w -= update * g * f64::from(value * r);
                        }
                    }
                }
            }
            if scale < 1e-6 {
                weights.iter_mut().for_each(|w| *w *= scale);
                scale = 1.0;
            }
        }
        if epoch + options.average_epochs >= options.epochs {
            let average = average.get_or_insert_with(|| vec![0f64; weights.len()]);
            for (a, w) in average.iter_mut().zip(&weights) {
                *a += w * scale;
            }
            snapshots += 1;
        }
    }
    let final_weights: Vec<f64> = match average {
        Some(average) => average.iter().map(|a| a / f64::from(snapshots)).collect(),
        None => weights.iter().map(|w| w * scale).collect(),
    };
    match input_scale {
        None => final_weights.iter().map(|&w| w as f32).collect(),
        Some(input_scale) => final_weights
            .iter()
            .zip(input_scale)
            .map(|(&w, &r)| (w * f64::from(r)) as f32)
            .collect(),
    }
}

/// Quantizes float weights to i8 with one scale.
pub fn quantize(weights: &[f32]) -> (f32, Vec<i8>) {
    let max = weights.iter().fold(0f32, |m, w| m.max(w.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let quantized = weights
        .iter()
        .map(|w| (w / scale).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (scale, quantized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> LinearModel {
        LinearModel {
            kind: ModelKind::Language,
            bits: 4,
            classes: vec!["a".into(), "b".into()],
            flags: 7,
            scale: 0.5,
            weights: (0..32).map(|i| i as i8 - 16).collect(),
        }
    }

    #[test]
    fn round_trip() {
        let m = model();
        let bytes = m.to_bytes();
        assert_eq!(LinearModel::from_bytes(&bytes, ModelKind::Language), Ok(m));
    }

    #[test]
    fn rejects_corruption() {
        let bytes = model().to_bytes();
        assert_eq!(
            LinearModel::from_bytes(&[], ModelKind::Language),
            Err(ModelError::Truncated)
        );
        assert_eq!(
            LinearModel::from_bytes(&bytes, ModelKind::Sentiment),
            Err(ModelError::WrongKind {
                expected: ModelKind::Sentiment,
                found: 1
            })
        );
        let mut corrupt = bytes.clone();
        corrupt[20] ^= 1;
        assert_eq!(
            LinearModel::from_bytes(&corrupt, ModelKind::Language),
            Err(ModelError::BadChecksum)
        );
        let mut bad_magic = bytes.clone();
        bad_magic[0] = b'X';
        assert_eq!(
            LinearModel::from_bytes(&bad_magic, ModelKind::Language),
            Err(ModelError::BadMagic)
        );
        for cut in 0..bytes.len() {
            assert!(LinearModel::from_bytes(&bytes[..cut], ModelKind::Language).is_err());
        }
    }

    /// Two classes, each marked by its own bucket, plus a bucket they share.
    fn toy_examples() -> Vec<Example> {
        (0..40)
            .map(|i| Example {
                class: i % 2,
                features: vec![((i % 2) as u32, 0.7), (2, 0.7)],
                weight: 1.0,
            })
            .collect()
    }

    #[test]
    fn unit_input_scale_is_plain_training() {
        let options = TrainOptions {
            bits: 2,
            epochs: 3,
            ..TrainOptions::default()
        };
        let examples = toy_examples();
        let ones = vec![1f32; 4 * 2];
        assert_eq!(
            train_scaled_weights(&examples, 2, &options, Some(&ones)),
            train_weights(&examples, 2, &options)
        );
    }

    #[test]
    fn averaging_changes_and_still_separates() {
        let last = TrainOptions {
            bits: 2,
            epochs: 4,
            ..TrainOptions::default()
        };
        let averaged = TrainOptions {
            average_epochs: 4,
            ..last
        };
        let examples = toy_examples();
        let plain = train_weights(&examples, 2, &last);
        let mean = train_weights(&examples, 2, &averaged);
        assert_ne!(plain, mean);
        assert_eq!(mean, train_weights(&examples, 2, &averaged));
        // Bucket 0 marks class 0 and bucket 1 class 1, with or without averaging.
        assert!(mean[0] > mean[1] && mean[3] > mean[2]);
    }
}

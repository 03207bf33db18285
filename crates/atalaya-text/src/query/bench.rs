//! A reproducible micro-benchmark of query matching, for `atalaya bench`.
//!
//! It generates topics in the mix a real workspace has (plain terms, phrases,
//! OR groups, NEAR, wildcards, negations, hashtags, handles and field filters)
//! and tweet-length Spanish and English posts from a fixed seed, then times
//! [`QuerySet::matches_with`] per mention. Run it in release mode: debug builds
//! are an order of magnitude slower. Measuring wall time is the point here, so
//! this is the one place in the crate that reads a clock.

use std::time::Instant;

use super::{Document, MatchScratch, Query, QuerySet, parse};

/// The result of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct MatchBenchmark {
    pub topics: usize,
    pub mentions: usize,
    /// Topic matches found over all mentions (a sanity check that the
    /// generated data exercises matching).
    pub matches: usize,
    /// Median microseconds to match one mention against all topics.
    pub match_p50_us: f64,
    pub match_p90_us: f64,
    pub match_p99_us: f64,
}

/// A generated mention and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedMention {
    pub text: String,
    pub author: String,
    pub url: String,
    pub lang: &'static str,
    pub source: &'static str,
}

impl GeneratedMention {
    pub fn document(&self) -> Document<'_> {
        Document {
            text: &self.text,
            author: Some(&self.author),
            url: Some(&self.url),
            lang: Some(self.lang),
            source: Some(self.source),
        }
    }
}

/// SplitMix64: tiny, deterministic, good enough to shuffle words.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const BRANDS: &[&str] = &[
    "nubeluz",
    "cafeteca",
    "movitel",
    "zapatea",
    "lumbrera",
    "veloxia",
    "panarra",
    "telefruta",
    "aguaviva",
    "ropalia",
    "bancora",
    "seguralia",
    "energeta",
    "viajando",
    "libroteca",
    "mascotia",
];
const SPANISH: &[&str] = &[
    "el",
    "la",
    "de",
    "que",
    "y",
    "en",
    "un",
    "una",
    "por",
    "con",
    "para",
    "pero",
    "muy",
    "todo",
    "servicio",
    "atención",
    "cliente",
    "pedido",
    "envío",
    "tienda",
    "precio",
    "factura",
    "móvil",
    "conexión",
    "llamada",
    "problema",
    "rápido",
    "lento",
    "genial",
    "horrible",
    "gracias",
    "nunca",
    "siempre",
    "ayer",
    "hoy",
    "mañana",
    "compré",
    "devolución",
    "oferta",
    "rebajas",
    "café",
    "camión",
    "azúcar",
    "corazón",
    "canción",
    "años",
    "niño",
    "ciudad",
    "barrio",
    "verano",
];
const ENGLISH: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "my",
    "for",
    "with",
    "but",
    "very",
    "never",
    "service",
    "customer",
    "order",
    "delivery",
    "store",
    "price",
    "invoice",
    "phone",
    "connection",
    "call",
    "problem",
    "fast",
    "slow",
    "great",
    "awful",
    "thanks",
    "always",
    "yesterday",
    "today",
    "bought",
    "refund",
    "deal",
    "sale",
    "coffee",
    "support",
    "app",
    "update",
    "battery",
    "screen",
];
const STEMS: &[&str] = &[
    "conect", "factur", "devol", "llam", "servic", "deliver", "refund", "pedid",
];

/// `count` topics in a realistic mix, each parsed from generated query text.
pub fn generated_topics(count: usize, seed: u64) -> Vec<(i64, Query)> {
    let mut random = Random(seed);
    let mut topics = Vec::with_capacity(count);
    let mut index = 0;
    while topics.len() < count {
        let brand = BRANDS[index % BRANDS.len()];
        let word = |random: &mut Random| {
            if random.below(2) == 0 {
                random.pick(SPANISH)
            } else {
                random.pick(ENGLISH)
            }
        };
        let text = match index % 10 {
            0 => brand.to_owned(),
            1 => format!("\"{brand} {}\"", word(&mut random)),
            2 => format!("{brand} OR #{brand} OR @{brand}"),
            3 => format!(
                "{brand} NEAR/3 ({} OR {})",
                word(&mut random),
                word(&mut random)
            ),
            4 => format!(
                "({brand} OR {}) AND {}*",
                random.pick(BRANDS),
                random.pick(STEMS)
            ),
            5 => format!(
                "{brand} -{} -\"{} {}\"",
                word(&mut random),
                word(&mut random),
                word(&mut random)
            ),
            6 => format!("{brand} lang:es site:{brand}.example"),
            7 => format!(
                "({brand} OR {}-{}) NEAR/2f {}",
                random.pick(BRANDS),
                word(&mut random),
                word(&mut random)
            ),
            8 => format!("{} AND {}?", random.pick(STEMS), brand),
            _ => format!(
                "(\"{} {}\" OR {brand}) AND NOT author:{brand}",
                word(&mut random),
                word(&mut random)
            ),
        };
        index += 1;
        // Every template is valid; a word that happens to form an invalid
        // query (none does today) is skipped rather than aborting the run.
        if let Ok(query) = parse(&text) {
            topics.push((i64::try_from(topics.len()).unwrap_or(i64::MAX), query));
        }
    }
    topics
}

/// `count` tweet-length posts, half Spanish, half English, some mentioning brands.
pub fn generated_mentions(count: usize, seed: u64) -> Vec<GeneratedMention> {
    let mut random = Random(seed);
    (0..count)
        .map(|index| {
            let spanish = index % 2 == 0;
            let words = if spanish { SPANISH } else { ENGLISH };
            let length = 12 + random.below(18);
            let mut text = String::with_capacity(200);
            for position in 0..length {
                if position > 0 {
                    text.push(' ');
                }
                match random.below(14) {
                    0 => text.push_str(random.pick(BRANDS)),
                    1 => {
                        text.push('#');
                        text.push_str(random.pick(BRANDS));
                    }
                    2 => {
                        text.push('@');
                        text.push_str(random.pick(BRANDS));
                    }
                    3 => {
                        let word = random.pick(words);
                        let mut chars = word.chars();
                        if let Some(first) = chars.next() {
                            text.extend(first.to_uppercase());
                            text.push_str(chars.as_str());
                        }
                    }
                    4 => {
                        text.push_str(random.pick(STEMS));
                        text.push_str(random.pick(&["ar", "ado", "ión", "ing", "ed", "o"]));
                    }
                    _ => text.push_str(random.pick(words)),
                }
                if random.below(9) == 0 {
                    text.push_str(random.pick(&[",", ".", "!", "?", "…"]));
                }
            }
            if random.below(4) == 0 {
                text.push_str(" https://t.example/");
                text.push_str(&random.next().to_string());
            }
            let brand = random.pick(BRANDS);
            GeneratedMention {
                text,
                author: format!("user{}", random.below(500)),
                url: format!(
                    "https://{}{brand}.example/post/{index}",
                    if random.below(2) == 0 { "news." } else { "" }
                ),
                lang: if spanish { "es" } else { "en" },
                source: if random.below(2) == 0 {
                    "rss"
                } else {
                    "mastodon"
                },
            }
        })
        .collect()
}

/// Times matching of `mentions` generated posts against `topics` generated
/// topics and reports percentiles per mention.
pub fn run(topics: usize, mentions: usize) -> MatchBenchmark {
    let set = QuerySet::compile(generated_topics(topics, 7));
    let posts = generated_mentions(mentions.max(1), 11);
    let mut scratch = MatchScratch::new();
    // One untimed pass warms caches and sizes the scratch buffers.
    for post in &posts {
        std::hint::black_box(set.matches_with(&post.document(), &mut scratch));
    }
    let mut timings = Vec::with_capacity(posts.len());
    let mut matches = 0;
    for post in &posts {
        let document = post.document();
        let started = Instant::now();
        let found = set.matches_with(&document, &mut scratch);
        let elapsed = started.elapsed();
        matches += found.len();
        std::hint::black_box(found);
        timings.push(elapsed.as_secs_f64() * 1e6);
    }
    timings.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        // Index of the p-th percentile; the casts are bounded by the length.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((timings.len() - 1) as f64 * p).round() as usize;
        timings[index]
    };
    MatchBenchmark {
        topics: set.len(),
        mentions: posts.len(),
        matches,
        match_p50_us: percentile(0.5),
        match_p90_us: percentile(0.9),
        match_p99_us: percentile(0.99),
    }
}

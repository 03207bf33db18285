//! The demo workspace's listening data: topics for "Café Aurora", two invented
//! competitors and the sector; an RSS, a webhook and an import source; two
//! network accounts (one working, one that needs re-authorizing); about a
//! thousand mentions in Spanish and English over the last 60 days, busier on
//! weekdays and at breakfast and after work (Madrid time), growing a little,
//! with a burst of complaints about the ordering app in the last day and a
//! half; and a few things the team did: topics created, sentiments corrected,
//! views saved, as the activity log shows them.
//!
//! Every mention is written here, from templates, for the demo (none comes from
//! any real post), and generated deterministically: the same texts, authors and
//! spacing on every run, relative to the moment the demo is loaded. They go
//! through the real pipeline — language, sentiment, topic matching with
//! highlights, author upsert — exactly as webhook and import items do. The RSS
//! source points at a fictional address: it stays `pending` until polled, and
//! then fails honestly (the name does not resolve), as it should offline.

use anyhow::Context;
use atalaya_connectors::item::{ContentKind, MentionFields};
use atalaya_domain::{
    AccountState, Network, SentimentLabel, Source, Timestamp, TopicKind, UserId, Workspace,
};
use atalaya_store::{
    AccountStateUpdate, MentionFilter, NewAccount, NewAuditEntry, NewSource, NewTopic, Store,
};
use atalaya_web::audit_actions;
use atalaya_workers::ingest::Pipeline;

/// What [`load`] created, for the demo command's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoListening {
    pub topics: usize,
    pub sources: usize,
    pub mentions: u64,
}

/// Mentions generated for the demo, spread over [`DEMO_DAYS`].
pub const DEMO_MENTIONS: usize = 960;
/// Of those, the burst of complaints about the app in the last 36 hours.
const BURST_MENTIONS: usize = 60;
pub const DEMO_DAYS: i64 = 60;
/// The demo brand is in Spain: its days and hours are Madrid's.
pub const DEMO_TIME_ZONE: &str = "Europe/Madrid";
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Name, kind, query, colour.
const TOPICS: [(&str, TopicKind, &str, &str); 6] = [
    (
        "Café Aurora",
        TopicKind::Brand,
        "\"cafe aurora\" OR #cafeaurora OR @cafeaurora OR (aurora NEAR/3 (cafe OR coffee OR tostado OR roastery))",
        "#b45309",
    ),
    (
        "Cold brew Aurora",
        TopicKind::Product,
        "(\"cold brew\" OR \"café frío\") AND aurora",
        "#0e7490",
    ),
    (
        "App de pedidos",
        TopicKind::Product,
        "aurora AND (app OR aplicación OR pedido* OR order*)",
        "#7c3aed",
    ),
    (
        "Brisa Café",
        TopicKind::Competitor,
        "\"brisa cafe\" OR #brisacafe OR @brisacafe",
        "#15803d",
    ),
    (
        "Molino Azul",
        TopicKind::Competitor,
        "\"molino azul\" OR #molinoazul OR @molinoazul",
        "#1d4ed8",
    ),
    (
        "Café de especialidad",
        TopicKind::Sector,
        "\"cafe de especialidad\" OR \"specialty coffee\"",
        "#6b7280",
    ),
];

/// Fictional authors: handle, name, followers.
const AUTHORS: [(&str, &str, i64); 16] = [
    ("@marta_desayuna", "Marta Gil", 1_240),
    ("@pablo.runs", "Pablo Ríos", 310),
    ("@la_barista_sol", "Sol Herrera", 8_900),
    ("@jorge_en_bici", "Jorge Sanz", 95),
    ("@cafeconleire", "Leire Olano", 2_300),
    ("@ana.lee.mucho", "Ana Beltrán", 12_400),
    ("@tomas_foodie", "Tomás Vera", 45_000),
    ("@carmen_madruga", "Carmen Ruiz", 180),
    ("@oliviabakes", "Olivia Park", 3_100),
    ("@sam_commutes", "Sam Turner", 640),
    ("@brewnerd_dan", "Dan Fisher", 19_800),
    ("@nora.reads", "Nora Quinn", 75),
    ("@mike_at_work", "Mike Doyle", 420),
    ("@hannah_travels", "Hannah Moore", 7_600),
    ("@vecinos_centro", "Vecinos del Centro", 5_200),
    ("@guia_cafetera", "Guía Cafetera", 31_000),
];

/// Spanish templates; `{place}` and `{thing}` are filled from the lists below.
const SPANISH: [&str; 24] = [
    "Me encanta el cold brew de Café Aurora, perfecto para estas tardes de calor en {place}",
    "El nuevo tostado de Café Aurora está buenísimo, repetiré seguro",
    "Gracias @cafeaurora por el trato tan amable esta mañana en {place} ❤️",
    "Qué rico el café de Aurora, el mejor desayuno de la semana",
    "La app de pedidos de Aurora funciona genial, recogí mi {thing} sin esperar",
    "Pedido hecho con la app de Café Aurora y listo en cinco minutos, muy cómodo",
    "Llevo 20 minutos esperando mi {thing} en Café Aurora de {place}, qué desastre de servicio",
    "La app de Aurora se cuelga cada vez que intento pagar el pedido, fatal",
    "Mi cold brew de Aurora llegó aguado y caliente, muy decepcionada",
    "Han subido otra vez los precios en Café Aurora y el {thing} ya no vale lo que cuesta",
    "Café Aurora abre una nueva tienda en {place} la semana que viene",
    "¿Alguien sabe a qué hora cierra Café Aurora de {place} los domingos?",
    "Café Aurora cambia la carta de otoño: llegan el {thing} y nuevas galletas",
    "Probando el café frío de Aurora con leche de avena, nada mal",
    "En Brisa Café de {place} el {thing} estaba frío y el personal ni nos miró",
    "Brisa Café tiene la mejor terraza de {place}, un sitio estupendo para trabajar",
    "Molino Azul ha bajado precios en todo el {thing}, habrá que probarlo",
    "Malísima experiencia en Molino Azul, pedido equivocado y sin disculpas",
    "El café de especialidad está cambiando cómo desayunamos en {place}",
    "Feria de café de especialidad este sábado en {place}, ¿quién se apunta?",
    "Hoy llueve en {place} y solo apetece quedarse en casa con un libro",
    "Comparando Café Aurora y Brisa Café: Aurora gana en sabor, Brisa en precio",
    "Nunca más pido en Café Aurora, me cobraron dos veces el {thing}",
    "Atención al cliente de Café Aurora resolvió mi queja en una hora, bien hecho",
];

const ENGLISH: [&str; 20] = [
    "Café Aurora's cold brew is the best thing about my commute, love it",
    "Great service at Café Aurora in {place} today, the barista remembered my order",
    "The Aurora coffee app made my morning so easy, ordered my {thing} in seconds",
    "Just tried the new Aurora roast and wow, smooth and chocolatey",
    "Waited half an hour for a {thing} at Café Aurora, terrible and nobody apologised",
    "The Aurora app keeps crashing at checkout, really frustrating",
    "Café Aurora raised prices again and the {thing} is smaller, not happy",
    "Café Aurora is opening a new store near {place} next month",
    "Does anyone know if Café Aurora in {place} has wifi?",
    "Brisa Cafe has a lovely garden, perfect for a slow Sunday",
    "Cold coffee and rude staff at Brisa Cafe, never again",
    "Molino Azul launched a loyalty card, might be worth it",
    "Specialty coffee keeps getting better in {place}, so many new roasters",
    "Reading about specialty coffee farms and how harvests changed this year",
    "My cat knocked the plant over again, what a morning",
    "Aurora coffee vs Molino Azul: Aurora wins on taste every single time",
    "Café Aurora support sorted out my refund quickly, thank you",
    "The oat latte at Café Aurora was cold and bitter today, disappointing",
    "Ordered a {thing} through the Aurora app and it was ready before I arrived",
    "Stopped by Café Aurora for a {thing}, decent but nothing special",
];

/// The burst: an app update that broke payments, as people tell it.
const BURST: [&str; 8] = [
    "La nueva actualización de la app de Café Aurora no me deja pagar, tercera vez hoy",
    "¿Se ha caído la app de pedidos de Aurora? Me cobra y luego dice que el pedido falló",
    "Otra vez la app de Café Aurora colgada al pagar, así no hay quien pida nada",
    "@cafeaurora vuestra app me ha cobrado dos pedidos y no me llegó ninguno, ¿qué pasa?",
    "Desinstalo la app de Aurora, desde la actualización es imposible pagar el pedido",
    "The Aurora app update broke checkout, charged twice and no order",
    "Anyone else's Café Aurora app crashing at payment since this morning?",
    "@cafeaurora your ordering app is down again, please fix it",
];

const PLACES: [&str; 6] = [
    "Malasaña",
    "Gràcia",
    "el centro",
    "Triana",
    "Chamberí",
    "Ruzafa",
];
const THINGS: [&str; 6] = [
    "flat white",
    "cortado",
    "cold brew",
    "croissant",
    "latte",
    "bizcocho de limón",
];

/// SplitMix64 with a fixed seed: the same demo every time.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z % bound.max(1) as u64) as usize
    }
}

/// How busy a day is: weekdays more than weekends, growing towards today.
fn day_weight(days_ago: i64, weekday: jiff::civil::Weekday) -> u64 {
    use jiff::civil::Weekday;
    let weekday = match weekday {
        Weekday::Saturday => 75,
        Weekday::Sunday => 60,
        _ => 110,
    };
    let growth = 100 + (DEMO_DAYS - days_ago) * 60 / DEMO_DAYS;
    weekday * u64::try_from(growth).unwrap_or(100)
}

/// How busy each local hour is: breakfast, lunch and after work.
const HOUR_WEIGHTS: [u64; 24] = [
    2, 1, 1, 1, 1, 2, 4, 9, 14, 13, 9, 8, 9, 10, 8, 7, 7, 9, 12, 13, 11, 8, 5, 3,
];

fn pick(weights: &[u64], random: &mut Random) -> usize {
    let total: u64 = weights.iter().sum();
    let mut at = random.below(usize::try_from(total).unwrap_or(1)) as u64;
    for (index, weight) in weights.iter().enumerate() {
        if at < *weight {
            return index;
        }
        at -= weight;
    }
    weights.len() - 1
}

/// When each demo mention was published: a local day weighted as above, a
/// local hour, a minute; never in the future.
fn publication_time(now: Timestamp, random: &mut Random) -> Timestamp {
    let tz = jiff::tz::TimeZone::get(DEMO_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::from_millisecond(now.millis())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
        .date();
    let days: Vec<jiff::civil::Date> = (0..DEMO_DAYS)
        .filter_map(|back| today.checked_sub(jiff::Span::new().days(back)).ok())
        .collect();
    let weights: Vec<u64> = days
        .iter()
        .enumerate()
        .map(|(back, day)| day_weight(i64::try_from(back).unwrap_or(0), day.weekday()))
        .collect();
    for _ in 0..8 {
        let day = days[pick(&weights, random)];
        let hour = i8::try_from(pick(&HOUR_WEIGHTS, random)).unwrap_or(9);
        let minute = i8::try_from(random.below(60)).unwrap_or(0);
        let at = day
            .at(hour, minute, 0, 0)
            .to_zoned(tz.clone())
            .map(|zoned| Timestamp(zoned.timestamp().as_millisecond()));
        if let Ok(at) = at
            && at < now
        {
            return at;
        }
    }
    now.plus_millis(-HOUR_MS)
}

/// One generated demo mention's fields; which source receives it is decided by the caller.
fn demo_fields(index: usize, now: Timestamp, random: &mut Random) -> MentionFields {
    let spanish = index % 5 < 3;
    let burst = index >= DEMO_MENTIONS - BURST_MENTIONS;
    let template = if burst {
        BURST[random.below(BURST.len())]
    } else if spanish {
        SPANISH[random.below(SPANISH.len())]
    } else {
        ENGLISH[random.below(ENGLISH.len())]
    };
    let text = template
        .replace("{place}", PLACES[random.below(PLACES.len())])
        .replace("{thing}", THINGS[random.below(THINGS.len())]);
    let (handle, name, followers) = AUTHORS[random.below(AUTHORS.len())];
    let published_at = if burst {
        // The last 36 hours, denser towards now.
        let fraction = (index + BURST_MENTIONS - DEMO_MENTIONS) as i64;
        let spread = 36 * HOUR_MS * (BURST_MENTIONS as i64 - fraction) / BURST_MENTIONS as i64;
        now.plus_millis(-(spread / 2 + i64::try_from(random.below(1_800_000)).unwrap_or(0)))
    } else {
        publication_time(now, random)
    };
    let profile = handle.trim_start_matches('@');
    MentionFields {
        external_id: Some(format!("demo-{index:04}")),
        url: index
            .is_multiple_of(3)
            .then(|| format!("https://social.example/@{profile}/{index}")),
        content: Some(text),
        content_kind: ContentKind::PlainText,
        author_handle: Some(handle.to_owned()),
        author_name: Some(name.to_owned()),
        author_profile_url: Some(format!("https://social.example/@{profile}")),
        author_followers: Some(followers),
        published_at: Some(published_at),
        ..MentionFields::default()
    }
}

/// Who in the demo team did what, for the activity log.
#[derive(Debug, Clone, Copy)]
pub struct DemoTeam {
    pub manager: UserId,
    pub agent: UserId,
    pub contributor: UserId,
}

async fn audit(
    store: &Store,
    workspace: &Workspace,
    actor: UserId,
    action: &str,
    target: &str,
    detail: serde_json::Value,
    at: Timestamp,
) -> anyhow::Result<()> {
    store
        .audit()
        .record(
            NewAuditEntry {
                workspace: Some(workspace.id),
                actor: Some(actor),
                action,
                target,
                detail,
            },
            at,
        )
        .await?;
    Ok(())
}

/// Adds the listening data to the (freshly created) demo workspace.
pub async fn load(
    store: &Store,
    workspace: &Workspace,
    team: DemoTeam,
) -> anyhow::Result<DemoListening> {
    let now = Timestamp::now();
    for (name, kind, query, color) in TOPICS {
        let topic = NewTopic {
            name,
            kind,
            query,
            color,
            active: true,
        };
        let topic = store
            .topics()
            .create(workspace.id, topic, now)
            .await
            .with_context(|| format!("creating the demo topic {name:?}"))?;
        audit(
            store,
            workspace,
            team.manager,
            audit_actions::TOPIC_CREATED,
            &topic.name,
            serde_json::json!({ "topic_id": topic.id, "kind": topic.kind, "query": topic.query }),
            now.plus_millis(-(DEMO_DAYS + 1) * DAY_MS),
        )
        .await?;
    }
    let source = |kind, name, config| NewSource {
        account_id: None,
        kind,
        name,
        config,
        sealed_secret: None,
        enabled: true,
    };
    store
        .sources()
        .create(
            workspace.id,
            source(
                "rss",
                "Blog Cafetero",
                serde_json::json!({ "url": "https://blog-cafetero.example/feed.xml" }),
            ),
            now,
        )
        .await?;
    let webhook = store
        .sources()
        .create(
            workspace.id,
            source("webhook", "Formulario web", serde_json::json!({})),
            now,
        )
        .await?;
    let import = store
        .sources()
        .create(
            workspace.id,
            source(
                "import",
                "Encuesta de clientes (CSV)",
                serde_json::json!({}),
            ),
            now,
        )
        .await?;
    load_accounts(store, workspace, team, now).await?;

    let mut random = Random(2026);
    let mut pushed = Vec::new();
    let mut imported = Vec::new();
    for index in 0..DEMO_MENTIONS {
        let mention = demo_fields(index, now, &mut random)
            .into_mention()
            .context("a demo mention is invalid")?;
        if index % 3 == 2 {
            imported.push(mention);
        } else {
            pushed.push(mention);
        }
    }
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let mut mentions = 0;
    for (source, items) in [(&webhook, pushed), (&import, imported)] {
        mentions += ingest(&pipeline, source, items, now).await?;
    }
    load_team_work(store, workspace, team, now).await?;
    Ok(DemoListening {
        topics: TOPICS.len(),
        sources: 3,
        mentions,
    })
}

/// Two invented accounts, so the accounts page shows both states: one that
/// works, one whose app password was revoked. Their credentials are a marker,
/// not a token: nothing listens through them, and anything that tried would
/// fail honestly (they cannot be opened).
async fn load_accounts(
    store: &Store,
    workspace: &Workspace,
    team: DemoTeam,
    now: Timestamp,
) -> anyhow::Result<()> {
    let placeholder = b"demo account: no credentials";
    store
        .accounts()
        .connect(
            workspace.id,
            NewAccount {
                network: Network::Mastodon,
                server_url: "https://mastodon.example",
                remote_id: "demo-109384",
                handle: "@cafeaurora@mastodon.example",
                display_name: Some("Café Aurora"),
                sealed_credentials: placeholder,
                connected_by: Some(team.manager),
            },
            now.plus_millis(-20 * DAY_MS),
        )
        .await?;
    let bluesky = store
        .accounts()
        .connect(
            workspace.id,
            NewAccount {
                network: Network::Bluesky,
                server_url: "https://bsky.example",
                remote_id: "did:plc:demo-cafeaurora",
                handle: "cafeaurora.bsky.example",
                display_name: Some("Café Aurora"),
                sealed_credentials: placeholder,
                connected_by: Some(team.manager),
            },
            now.plus_millis(-20 * DAY_MS),
        )
        .await?;
    store
        .accounts()
        .record_state(
            bluesky.id,
            &AccountStateUpdate {
                state: AccountState::NeedsReauth,
                code: Some("unauthorized"),
                reason: Some("Token has been revoked"),
                blocked_until: None,
                consecutive_failures: 1,
            },
            now.plus_millis(-3 * HOUR_MS),
        )
        .await?;
    Ok(())
}

/// What the team did with the mentions: an agent corrected a few labels the
/// model got wrong, and views were saved for the work that repeats.
async fn load_team_work(
    store: &Store,
    workspace: &Workspace,
    team: DemoTeam,
    now: Timestamp,
) -> anyhow::Result<()> {
    let corrections = [
        ("resolvió mi queja", SentimentLabel::Positive),
        ("qué hora cierra", SentimentLabel::Neutral),
        ("has wifi", SentimentLabel::Neutral),
    ];
    for (words, label) in corrections {
        let filter = MentionFilter {
            search: Some(words.to_owned()),
            limit: 1,
            ..MentionFilter::default()
        };
        let Some(mention) = store.mentions().list(workspace.id, &filter).await?.pop() else {
            continue;
        };
        if mention.sentiment == label {
            continue;
        }
        let at = now.plus_millis(-2 * HOUR_MS);
        store
            .mentions()
            .correct_sentiment(workspace.id, mention.id, label, team.agent, at)
            .await?;
        audit(
            store,
            workspace,
            team.agent,
            audit_actions::SENTIMENT_CORRECTED,
            &format!("mention {}", mention.id.get()),
            serde_json::json!({ "mention_id": mention.id, "from": mention.sentiment, "to": label, "model": mention.sentiment_model }),
            at,
        )
        .await?;
    }
    let topics = store.topics().list(workspace.id).await?;
    let topic_id = |name: &str| {
        topics
            .iter()
            .find(|topic| topic.name == name)
            .map(|topic| topic.id.get())
    };
    let mut views = vec![(
        team.agent,
        String::from("Quejas sin ver"),
        String::from("sentiment=negative"),
    )];
    if let Some(app) = topic_id("App de pedidos") {
        views.push((
            team.contributor,
            String::from("Problemas con la app"),
            format!("topic={app}&sentiment=negative"),
        ));
    }
    if let (Some(brisa), Some(_)) = (topic_id("Brisa Café"), topic_id("Molino Azul")) {
        views.push((
            team.manager,
            String::from("Competencia: Brisa Café"),
            format!("topic={brisa}"),
        ));
    }
    for (actor, name, query) in views {
        let view = store
            .saved_views()
            .create(workspace.id, actor, &name, &query, now.plus_millis(-DAY_MS))
            .await?;
        audit(
            store,
            workspace,
            actor,
            audit_actions::VIEW_SAVED,
            &view.name,
            serde_json::json!({ "view_id": view.id, "query_string": view.query_string }),
            now.plus_millis(-DAY_MS),
        )
        .await?;
    }
    Ok(())
}

async fn ingest(
    pipeline: &Pipeline,
    source: &Source,
    items: Vec<atalaya_connectors::IncomingMention>,
    now: Timestamp,
) -> anyhow::Result<u64> {
    let outcome = pipeline
        .ingest(source, items, now)
        .await
        .with_context(|| format!("ingesting the demo mentions of {:?}", source.name))?;
    Ok(outcome.inserted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use atalaya_store::NewUser;

    async fn test_team(store: &Store) -> DemoTeam {
        let mut ids = Vec::new();
        for name in ["lucia", "marcos", "ines"] {
            let user = store
                .users()
                .create(NewUser {
                    username: name,
                    email: &format!("{name}@example.invalid"),
                    display_name: name,
                    password_hash: "x",
                    is_instance_admin: false,
                })
                .await
                .unwrap();
            ids.push(user.id);
        }
        DemoTeam {
            manager: ids[0],
            agent: ids[1],
            contributor: ids[2],
        }
    }

    #[tokio::test]
    async fn the_last_day_and_a_half_has_a_burst_of_app_complaints() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let workspace = store
            .workspaces()
            .create("cafe-aurora", "Café Aurora (demo)", true)
            .await
            .unwrap();
        let team = test_team(&store).await;
        load(&store, &workspace, team).await.unwrap();
        let now = Timestamp::now();
        let window = |from_hours: i64, to_hours: i64, sentiment| MentionFilter {
            from: Some(now.plus_millis(-from_hours * HOUR_MS)),
            to: Some(now.plus_millis(-to_hours * HOUR_MS)),
            sentiment,
            ..MentionFilter::default()
        };
        let recent = store
            .mentions()
            .count(workspace.id, &window(36, 0, Some(SentimentLabel::Negative)))
            .await
            .unwrap();
        let before = store
            .mentions()
            .count(
                workspace.id,
                &window(72, 36, Some(SentimentLabel::Negative)),
            )
            .await
            .unwrap();
        assert!(
            recent > 2 * before.max(1),
            "{recent} negative now against {before}"
        );
        let accounts = store.accounts().list(workspace.id).await.unwrap();
        let states: Vec<AccountState> = accounts.iter().map(|account| account.state).collect();
        assert!(
            states.contains(&AccountState::Connected)
                && states.contains(&AccountState::NeedsReauth),
            "{states:?}"
        );
        assert!(
            !store
                .saved_views()
                .list(workspace.id)
                .await
                .unwrap()
                .is_empty()
        );
        let actions: Vec<String> = store
            .audit()
            .list(workspace.id, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.action)
            .collect();
        assert!(
            actions
                .iter()
                .any(|action| action == audit_actions::SENTIMENT_CORRECTED)
        );
        assert!(
            actions
                .iter()
                .any(|action| action == audit_actions::TOPIC_CREATED)
        );
    }

    #[tokio::test]
    async fn the_demo_shows_every_part_of_listening() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let workspace = store
            .workspaces()
            .create("cafe-aurora", "Café Aurora (demo)", true)
            .await
            .unwrap();
        let team = test_team(&store).await;
        let loaded = load(&store, &workspace, team).await.unwrap();
        assert_eq!(
            loaded.mentions, DEMO_MENTIONS as u64,
            "no two demo mentions collide"
        );

        let all = MentionFilter {
            limit: 1_000,
            ..MentionFilter::default()
        };
        let mentions = store.mentions().list(workspace.id, &all).await.unwrap();
        let now = Timestamp::now();
        assert!(mentions.iter().all(|m| m.published_at <= now
            && m.published_at.millis() > now.millis() - (DEMO_DAYS + 1) * DAY_MS));
        let languages: std::collections::BTreeSet<&str> =
            mentions.iter().map(|m| m.lang.as_str()).collect();
        assert!(
            languages.contains("es") && languages.contains("en"),
            "{languages:?}"
        );
        let [negative, neutral, positive] = store
            .mentions()
            .sentiment_counts(workspace.id, &all)
            .await
            .unwrap();
        assert!(
            negative > 20 && neutral > 20 && positive > 20,
            "{negative}/{neutral}/{positive}"
        );
        for topic in store.topics().list(workspace.id).await.unwrap() {
            let filter = MentionFilter {
                topic: Some(topic.id),
                ..all.clone()
            };
            assert!(
                store.mentions().count(workspace.id, &filter).await.unwrap() > 5,
                "topic {} has mentions",
                topic.name
            );
        }
        let highlighted = mentions
            .iter()
            .flat_map(|m| m.topics.iter().map(move |hit| (m, hit)))
            .find(|(_, hit)| !hit.spans.is_empty());
        assert!(
            highlighted.is_some(),
            "matches explain themselves with spans"
        );
        let days = store
            .mentions()
            .daily_counts(
                workspace.id,
                Timestamp(now.millis() - 30 * DAY_MS),
                now.plus_millis(1),
            )
            .await
            .unwrap();
        let distinct_days: std::collections::BTreeSet<&str> =
            days.iter().map(|count| count.day.as_str()).collect();
        assert!(
            distinct_days.len() >= 28,
            "spread over the month: {}",
            distinct_days.len()
        );
        let sources = store.sources().list(workspace.id).await.unwrap();
        let kinds: Vec<&str> = sources.iter().map(|source| source.kind.as_str()).collect();
        assert_eq!(kinds.len(), 3);
        assert!(kinds.contains(&"rss") && kinds.contains(&"webhook") && kinds.contains(&"import"));

        let again = store
            .workspaces()
            .create("other", "Other", true)
            .await
            .unwrap();
        let reloaded = load(&store, &again, team).await.unwrap();
        let first: Vec<String> = mentions
            .iter()
            .map(|m| m.text.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let second: Vec<String> = store
            .mentions()
            .list(again.id, &all)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            (reloaded.mentions, first),
            (DEMO_MENTIONS as u64, second),
            "deterministic"
        );
    }
}

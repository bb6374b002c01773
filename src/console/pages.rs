//! The console's pages (maud; every text escaped): German, semantic headings, tables with
//! `th scope`, labelled form fields, one stylesheet (`/console/style.css`), no scripts.

use maud::{DOCTYPE, Markup, html};

use crate::fitconnect::problems::Problem;
use crate::store::{
    Decision, JobState, JobSummary, QueueMetrics, ReplyPhase, ReplyView, SubmissionCounts,
    SubmissionListItem, SubmissionView, Timestamp,
};

/// A time for German readers, in UTC: `06.12.2026, 00:46:18 UTC`.
pub(crate) fn when(t: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000) {
        Ok(d) => format!(
            "{:02}.{:02}.{}, {:02}:{:02}:{:02} UTC",
            d.day(),
            u8::from(d.month()),
            d.year(),
            d.hour(),
            d.minute(),
            d.second()
        ),
        Err(_) => "—".to_owned(),
    }
}

fn opt_when(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "—".to_owned(), when)
}

/// A duration as `3 h 5 min`, `42 s`.
fn age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn bytes(n: u64) -> String {
    crate::xoev::render::format::bytes(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Which navigation entry a page belongs to (marked `aria-current="page"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    /// Neither.
    None,
    /// The overview.
    Overview,
    /// The submissions (list and single ones).
    Submissions,
}

/// The page frame: skip link, header with navigation (the current entry marked) and logout
/// (when logged in), `main`.
pub(crate) fn frame(title: &str, csrf: Option<&str>, nav: Nav, body: &Markup) -> Markup {
    let current = |n: Nav| (nav == n).then_some("page");
    html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – poststelle" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                a class="skip" href="#inhalt" { "Zum Inhalt springen" }
                header {
                    p { "poststelle – Konsole" }
                    @if let Some(csrf) = csrf {
                        nav aria-label="Hauptnavigation" {
                            ul {
                                li { a href="/console/" aria-current=[current(Nav::Overview)] { "Übersicht" } }
                                li { a href="/console/submissions" aria-current=[current(Nav::Submissions)] { "Einreichungen" } }
                            }
                        }
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" class="secondary" { "Abmelden" }
                        }
                    }
                }
                main id="inhalt" { (body) }
            }
        }
    }
}

/// What the login form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginKind {
    /// The admin token (no users file).
    Token,
    /// A user name and password (`[console] users_file`).
    Named,
}

/// The login form; `failed` after a refused attempt, `expired` after a session ended.
pub(crate) fn login(kind: LoginKind, failed: bool, expired: bool) -> Markup {
    let body = html! {
        h1 { "Anmeldung" }
        @if failed {
            p class="error" role="alert" {
                @match kind {
                    LoginKind::Token => "Die Anmeldung ist fehlgeschlagen: Das Zugangstoken ist nicht gültig.",
                    LoginKind::Named => "Die Anmeldung ist fehlgeschlagen: Benutzername oder Passwort ist nicht gültig.",
                }
            }
        }
        @if expired {
            p class="meta" { "Ihre Sitzung ist abgelaufen oder wurde beendet. Bitte melden Sie sich erneut an." }
        }
        form class="login" method="post" action="/console/login" {
            @match kind {
                LoginKind::Token => div {
                    label for="token" { "Zugangstoken (Admin-Token)" }
                    input id="token" name="token" type="password" autocomplete="current-password" required;
                },
                LoginKind::Named => {
                    div {
                        label for="user" { "Benutzername" }
                        input id="user" name="user" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required;
                    }
                    div {
                        label for="password" { "Passwort" }
                        input id="password" name="password" type="password" autocomplete="current-password" required;
                    }
                }
            }
            button type="submit" { "Anmelden" }
        }
    };
    frame("Anmeldung", None, Nav::None, &body)
}

/// A short page with a heading and a sentence (not found, refused, unavailable).
pub(crate) fn notice(title: &str, text: &str, csrf: Option<&str>) -> Markup {
    let body = html! {
        h1 { (title) }
        p { (text) }
        p { a href="/console/" { "Zur Übersicht" } }
    };
    frame(title, csrf, Nav::None, &body)
}

/// An installed schema pack as the overview shows it.
#[derive(Debug, Clone)]
pub(crate) struct PackLine {
    /// Pack id.
    pub(crate) id: String,
    /// `sha256:<hex>`.
    pub(crate) fingerprint: String,
}

/// What the overview shows.
pub(crate) struct Overview<'a> {
    pub(crate) day: Option<SubmissionCounts>,
    pub(crate) month: Option<SubmissionCounts>,
    pub(crate) queue: Option<QueueMetrics>,
    pub(crate) pipeline_ready: bool,
    pub(crate) packs: &'a [PackLine],
    pub(crate) dangerous: &'a [String],
    /// The oldest dead letters (at most [`super::DEAD_SHOWN`]).
    pub(crate) dead: &'a [JobSummary],
}

fn yes_no(b: bool, yes: &'static str, no: &'static str) -> &'static str {
    if b { yes } else { no }
}

/// The overview page.
pub(crate) fn overview(o: &Overview<'_>, csrf: &str) -> Markup {
    let count = |c: Option<SubmissionCounts>, f: fn(SubmissionCounts) -> u64| {
        c.map_or_else(|| "—".to_owned(), |c| f(c).to_string())
    };
    let body = html! {
        h1 { "Übersicht" }
        h2 id="eingang" { "Einreichungen" }
        table aria-labelledby="eingang" {
            thead { tr {
                th scope="col" { "Zeitraum" }
                th scope="col" { "Eingegangen" }
                th scope="col" { "Angenommen" }
                th scope="col" { "Abgelehnt" }
            } }
            tbody {
                @for (label, c) in [("Letzte 24 Stunden", o.day), ("Letzte 30 Tage", o.month)] {
                    tr {
                        th scope="row" { (label) }
                        td class="num" { (count(c, |c| c.received)) }
                        td class="num" { (count(c, |c| c.accepted)) }
                        td class="num" { (count(c, |c| c.rejected)) }
                    }
                }
            }
        }
        h2 id="betrieb" { "Betrieb" }
        table aria-labelledby="betrieb" {
            tbody {
                tr { th scope="row" { "Speicher" }
                     td { (yes_no(o.queue.is_some(), "erreichbar", "nicht erreichbar")) } }
                tr { th scope="row" { "Empfang (Zustelldienst)" }
                     td { (yes_no(o.pipeline_ready, "bereit", "nicht bereit")) } }
                @if let Some(q) = o.queue {
                    tr { th scope="row" { "Ausgangswarteschlange (fällig)" } td class="num" { (q.jobs_due) } }
                    tr { th scope="row" { "Ausstehende Weiterleitungen" } td class="num" { (q.jobs_pending) } }
                    tr { th scope="row" { "Ältester fälliger Auftrag wartet seit" }
                         td class="num" { @if q.jobs_due == 0 { "—" } @else { (age(q.oldest_due_age)) } } }
                    tr { th scope="row" { "Unzustellbare Aufträge (Dead Letters)" }
                         td class="num" { (q.jobs_dead) } }
                    tr { th scope="row" { "Noch nicht quittiert" } td class="num" { (q.submissions_unacked) } }
                }
            }
        }
        @if !o.dead.is_empty() {
            h2 id="deadletters" { "Unzustellbare Aufträge" }
            table aria-labelledby="deadletters" {
                thead { tr {
                    th scope="col" { "Einreichung" }
                    th scope="col" { "Fachverfahren" }
                    th scope="col" { "Versuche" }
                    th scope="col" { "Letzter Fehler" }
                    th scope="col" { "Aufgegeben" }
                } }
                tbody {
                    @for j in o.dead {
                        tr {
                            th scope="row" { a href=(submission_href(&j.submission_id)) { code { (j.submission_id) } } }
                            td { (j.upstream) }
                            td class="num" { (j.attempts) }
                            td { (j.last_error.as_deref().unwrap_or("—")) }
                            td { (opt_when(j.finished_at)) }
                        }
                    }
                }
            }
        }
        h2 id="pakete" { "Installierte Schemapakete" }
        @if o.packs.is_empty() {
            p { "Keine Schemapakete installiert." }
        } @else {
            table aria-labelledby="pakete" {
                thead { tr { th scope="col" { "Paket" } th scope="col" { "Fingerabdruck" } } }
                tbody {
                    @for p in o.packs {
                        tr { th scope="row" { (p.id) } td { code { (p.fingerprint) } } }
                    }
                }
            }
        }
        h2 id="gefaehrlich" { "Gefährliche Einstellungen" }
        @if o.dangerous.is_empty() {
            p class="ok" { "Keine gefährlichen Einstellungen aktiv." }
        } @else {
            ul class="error" aria-labelledby="gefaehrlich" {
                @for d in o.dangerous { li { (d) } }
            }
        }
    };
    frame("Übersicht", Some(csrf), Nav::Overview, &body)
}

/// The list filters as the form shows them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListForm {
    pub(crate) decision: String,
    pub(crate) message_type: String,
    pub(crate) destination: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) page: u64,
}

impl ListForm {
    /// The query string of this filter on another page.
    pub(crate) fn query(&self, page: u64) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("decision", &self.decision),
            ("type", &self.message_type),
            ("destination", &self.destination),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.append_pair("page", &page.to_string());
        q.finish()
    }
}

fn decision_text(accepted: Option<bool>) -> &'static str {
    match accepted {
        Some(true) => "angenommen",
        Some(false) => "abgelehnt",
        None => "in Bearbeitung",
    }
}

fn submission_href(id: &str) -> String {
    format!(
        "/console/submissions/{}",
        form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    )
}

/// The submission list with its filter form and paging.
pub(crate) fn list(
    form: &ListForm,
    rows: &[SubmissionListItem],
    more: bool,
    error: Option<&str>,
    csrf: &str,
) -> Markup {
    let body = html! {
        h1 { "Einreichungen" }
        form class="filters" method="get" action="/console/submissions" {
            div {
                label for="decision" { "Entscheidung" }
                select id="decision" name="decision" {
                    @for (v, t) in [("", "alle"), ("accepted", "angenommen"), ("rejected", "abgelehnt")] {
                        option value=(v) selected[form.decision == v] { (t) }
                    }
                }
            }
            div {
                label for="type" { "Nachrichtentyp" }
                input id="type" name="type" type="text" value=(form.message_type);
            }
            div {
                label for="destination" { "Zustellpunkt" }
                input id="destination" name="destination" type="text" value=(form.destination);
            }
            div {
                label for="from" { "Eingang ab (Datum, UTC)" }
                input id="from" name="from" type="date" value=(form.from);
            }
            div {
                label for="to" { "Eingang bis (Datum, UTC)" }
                input id="to" name="to" type="date" value=(form.to);
            }
            button type="submit" { "Filtern" }
        }
        @if let Some(e) = error {
            p class="error" role="alert" { (e) }
        }
        @if rows.is_empty() {
            p { "Keine Einreichungen gefunden." }
        } @else {
            table {
                caption class="meta" { "Seite " (form.page + 1) ", neueste zuerst" }
                thead { tr {
                    th scope="col" { "Einreichung" }
                    th scope="col" { "Eingang" }
                    th scope="col" { "Entscheidung" }
                    th scope="col" { "Nachrichtentyp" }
                    th scope="col" { "Zustellpunkt" }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            th scope="row" { a href=(submission_href(&r.submission_id)) { code { (r.submission_id) } } }
                            td { (when(r.seen_at)) }
                            td { (decision_text(r.accepted)) }
                            td { (r.message_type.as_deref().unwrap_or("—")) }
                            td { code { (r.destination_id.as_deref().unwrap_or("—")) } }
                        }
                    }
                }
            }
        }
        @if form.page > 0 || more {
            nav aria-label="Seiten" {
                ul {
                    @if form.page > 0 {
                        li { a href={ "/console/submissions?" (form.query(form.page - 1)) } rel="prev" { "Vorherige Seite" } }
                    }
                    @if more {
                        li { a href={ "/console/submissions?" (form.query(form.page + 1)) } rel="next" { "Nächste Seite" } }
                    }
                }
            }
        }
    };
    frame("Einreichungen", Some(csrf), Nav::Submissions, &body)
}

/// Evidence facts read from the stored SETs (ids only).
#[derive(Debug, Clone, Default)]
pub(crate) struct SetIds {
    pub(crate) submit_jti: Option<String>,
    pub(crate) ack_jti: Option<String>,
}

/// One business-rule finding from the envelope (rule, severity, location, the rule's text).
#[derive(Debug, Clone)]
pub(crate) struct FindingLine {
    pub(crate) rule: String,
    pub(crate) severity: String,
    pub(crate) location: String,
    pub(crate) message: String,
}

fn problems_table(problems: &[Problem]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Problemtyp" }
                th scope="col" { "Titel" }
                th scope="col" { "Ort" }
                th scope="col" { "Beschreibung (mit Prüfstellen)" }
            } }
            tbody {
                @for p in problems {
                    tr {
                        td { code { (p.type_uri) } }
                        td { (p.title) }
                        td { code { (p.instance) } }
                        td { (p.detail) }
                    }
                }
            }
        }
    }
}

fn state_text(s: JobState) -> &'static str {
    match s {
        JobState::Pending => "ausstehend",
        JobState::Delivered => "zugestellt",
        JobState::Dead => "unzustellbar (Dead Letter)",
    }
}

fn jobs_table(submission_id: &str, jobs: &[JobSummary], csrf: &str) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Auftrag" }
                th scope="col" { "Fachverfahren" }
                th scope="col" { "Zustand" }
                th scope="col" { "Versuche" }
                th scope="col" { "Letzter Fehler" }
                th scope="col" { "Nächster Versuch / abgeschlossen" }
                th scope="col" { "Aktion" }
            } }
            tbody {
                @for j in jobs {
                    tr {
                        th scope="row" { (j.job_id) }
                        td { (j.upstream) }
                        td { (state_text(j.state)) }
                        td class="num" { (j.attempts) }
                        td { (j.last_error.as_deref().unwrap_or("—")) }
                        td {
                            @if j.state == JobState::Pending { (when(j.next_attempt_at)) }
                            @else { (opt_when(j.finished_at)) }
                        }
                        td {
                            @if j.state == JobState::Dead {
                                form method="post" action={ "/console/jobs/" (j.job_id) "/redrive" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="submission" value=(submission_id);
                                    button type="submit" aria-label={ "Auftrag " (j.job_id) " erneut zustellen" } { "Erneut zustellen" }
                                }
                            } @else { "—" }
                        }
                    }
                }
            }
        }
    }
}

/// A reply's phase in German.
fn reply_phase_text(p: ReplyPhase) -> &'static str {
    match p {
        ReplyPhase::Queued => "eingereiht",
        ReplyPhase::Created => "beim Zustelldienst angelegt",
        ReplyPhase::Submitted => "übermittelt, Entscheidung offen",
        ReplyPhase::Accepted => "vom Antragsteller angenommen",
        ReplyPhase::Rejected => "vom Antragsteller abgelehnt",
        ReplyPhase::Unanswered => "ohne Entscheidung",
    }
}

/// The replies (Rückkanal) to a submission: what, where it is, attempts, the last error;
/// never content. Dead ones are re-driven with `poststelle reply redrive`.
fn replies_table(replies: &[ReplyView]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Antwort" }
                th scope="col" { "Nachricht" }
                th scope="col" { "Status" }
                th scope="col" { "Zustand" }
                th scope="col" { "Versuche" }
                th scope="col" { "Letzter Fehler" }
                th scope="col" { "Eingereicht / abgeschlossen" }
            } }
            tbody {
                @for r in replies {
                    tr {
                        th scope="row" { code { (r.reply_id) } }
                        td { (r.message_type) }
                        td { (reply_phase_text(r.phase)) }
                        td { (match r.state.as_str() {
                            "pending" => "in Arbeit",
                            "done" => "abgeschlossen",
                            "dead" => "aufgegeben (poststelle reply redrive)",
                            other => other,
                        }) }
                        td class="num" { (r.attempts) }
                        td { (r.last_error.as_deref().unwrap_or("—")) }
                        td { (when(r.created_at)) " / " (opt_when(r.finished_at)) }
                    }
                }
            }
        }
    }
}

/// The submission page.
pub(crate) fn submission(
    v: &SubmissionView,
    sets: &SetIds,
    findings: Option<&[FindingLine]>,
    document: bool,
    replies: &[ReplyView],
    notice: Option<&str>,
    csrf: &str,
) -> Markup {
    let body = html! {
        h1 { "Einreichung " code { (v.submission_id) } }
        @if let Some(n) = notice { p class="ok" role="status" { (n) } }
        h2 id="entscheidung" { "Entscheidung" }
        @match &v.decision {
            None => p { "Noch nicht entschieden (in Bearbeitung)." },
            Some(Decision::Accepted) => p class="ok" { "Angenommen." },
            Some(Decision::Rejected { problems }) => {
                p class="error" { "Abgelehnt (" (problems.len()) " Problem(e))." }
                (problems_table(problems))
            }
        }
        @if document {
            p { a href={ (submission_href(&v.submission_id)) "/document.html" } { "Antrag als Dokument lesen (Sachbearbeitungsansicht)" } }
        }
        h2 id="angaben" { "Angaben" }
        table aria-labelledby="angaben" { tbody {
            tr { th scope="row" { "Vorgang (Case)" } td { code { (v.case_id.as_deref().unwrap_or("—")) } } }
            tr { th scope="row" { "Zustellpunkt" } td { code { (v.destination_id.as_deref().unwrap_or("—")) } } }
            tr { th scope="row" { "Nachrichtentyp" } td { (v.message_type.as_deref().unwrap_or("—")) } }
            tr { th scope="row" { "Zuerst gesehen" } td { (when(v.seen_at)) } }
            tr { th scope="row" { "Gespeichert" } td { (opt_when(v.stored_at)) } }
            tr { th scope="row" { "Quittiert" } td { (opt_when(v.acked_at)) } }
            tr { th scope="row" { "Nutzdaten gelöscht (Aufbewahrungsfrist)" } td { (opt_when(v.purged_at)) } }
        } }
        @if let Some(f) = findings {
            h2 id="regeln" { "Ergebnisse der Geschäftsregeln" }
            @if f.is_empty() {
                p { "Keine Befunde." }
            } @else {
                table aria-labelledby="regeln" {
                    thead { tr {
                        th scope="col" { "Regel" } th scope="col" { "Schwere" }
                        th scope="col" { "Ort" } th scope="col" { "Text der Regel" }
                    } }
                    tbody { @for x in f { tr {
                        td { code { (x.rule) } } td { (x.severity) }
                        td { code { (x.location) } } td { (x.message) }
                    } } }
                }
            }
        }
        h2 id="nachweise" { "Nachweise" }
        @if let Some(e) = &v.evidence {
            table aria-labelledby="nachweise" { tbody {
                tr { th scope="row" { "SET submit-submission (jti)" } td { code { (sets.submit_jti.as_deref().unwrap_or("—")) } } }
                tr { th scope="row" { "SET der Quittung (jti)" } td { code { (sets.ack_jti.as_deref().unwrap_or("—")) } } }
                tr { th scope="row" { "Empfangen" } td { (when(e.received_at)) } }
                tr { th scope="row" { "Entschieden" } td { (when(e.decided_at)) } }
                @if let Some(t) = &e.auth_tags {
                    tr { th scope="row" { "Authentication-Tag Metadaten" } td { code { (t.metadata) } } }
                    @if let Some(d) = &t.data {
                        tr { th scope="row" { "Authentication-Tag Fachdaten" } td { code { (d) } } }
                    }
                    @for (id, tag) in &t.attachments {
                        tr { th scope="row" { "Authentication-Tag Anlage " code { (id) } } td { code { (tag) } } }
                    }
                }
                @for (object, value) in &e.hashes {
                    tr { th scope="row" { "Hashwert " (object) } td { code { (value) } } }
                }
            } }
        } @else {
            p { "Keine Nachweise gespeichert." }
        }
        h2 id="anlagen" { "Anlagen" }
        @if v.attachments.is_empty() {
            p { "Keine Anlagen." }
        } @else {
            table aria-labelledby="anlagen" {
                thead { tr { th scope="col" { "Anlage" } th scope="col" { "Dateityp" } th scope="col" { "Größe" } } }
                tbody { @for a in &v.attachments { tr {
                    th scope="row" { code { (a.attachment_id) } }
                    td { (a.media_type) }
                    td class="num" { (bytes(a.size)) }
                } } }
            }
        }
        h2 id="weiterleitung" { "Weiterleitung" }
        @if v.jobs.is_empty() {
            p { "Keine Weiterleitungsaufträge." }
        } @else {
            (jobs_table(&v.submission_id, &v.jobs, csrf))
        }
        h2 id="antworten" { "Antworten an den Antragsteller (Rückkanal)" }
        @if replies.is_empty() {
            p { "Keine Antworten." }
        } @else {
            (replies_table(replies))
        }
    };
    frame("Einreichung", Some(csrf), Nav::Submissions, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ages_read_german() {
        assert_eq!(when(Timestamp(0)), "01.01.1970, 00:00:00 UTC");
        assert_eq!(
            when(Timestamp(1_796_517_978_000)),
            "06.12.2026, 00:46:18 UTC"
        );
        assert_eq!(age(std::time::Duration::from_secs(42)), "42 s");
        assert_eq!(
            age(std::time::Duration::from_secs(3 * 3600 + 300)),
            "3 h 5 min"
        );
    }

    #[test]
    fn the_list_form_keeps_its_filters_across_pages() {
        let f = ListForm {
            decision: "rejected".into(),
            message_type: "a b&c".into(),
            ..ListForm::default()
        };
        assert_eq!(f.query(2), "decision=rejected&type=a+b%26c&page=2");
    }

    #[test]
    fn values_are_escaped() {
        let page = notice("<x>", "\"<script>\"", None).into_string();
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;x&gt;"));
    }
}

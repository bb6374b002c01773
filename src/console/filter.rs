//! The submission list's filter, read from the query string of `/console/submissions`.

use super::PAGE_SIZE;
use super::pages::ListForm;
use crate::store::{SubmissionFilter, Timestamp};

/// The list's filter from the query string; a filter that does not parse is named, and left
/// out.
pub(crate) fn list_filter(query: &str) -> (ListForm, SubmissionFilter, Option<&'static str>) {
    let mut form = ListForm::default();
    let mut error = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_owned();
        match &*k {
            "decision" => form.decision = v,
            "type" => form.message_type = v,
            "destination" => form.destination = v,
            "from" => form.from = v,
            "to" => form.to = v,
            "page" => form.page = v.parse().unwrap_or(0).min(1_000_000),
            _ => {}
        }
    }
    let accepted = match form.decision.as_str() {
        "accepted" => Some(true),
        "rejected" => Some(false),
        "" => None,
        _ => {
            error = Some("Unbekannte Entscheidung: es wird nicht danach gefiltert.");
            form.decision.clear();
            None
        }
    };
    let mut date = |text: &mut String, next_day: bool| {
        if text.is_empty() {
            return None;
        }
        let parsed = day_start(text, next_day);
        if parsed.is_none() {
            error =
                Some("Ein Datum ist nicht im Format JJJJ-MM-TT: es wird nicht danach gefiltert.");
            text.clear();
        }
        parsed
    };
    let since = date(&mut form.from, false);
    let until = date(&mut form.to, true);
    let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
    let filter = SubmissionFilter {
        accepted,
        message_type: non_empty(&form.message_type),
        destination_id: non_empty(&form.destination).map(|d| d.to_ascii_lowercase()),
        since,
        until,
        limit: PAGE_SIZE + 1,
        offset: form.page.saturating_mul(u64::from(PAGE_SIZE)),
    };
    (form, filter, error)
}

/// The start (UTC) of the day `YYYY-MM-DD`, or of the day after it.
fn day_start(text: &str, next_day: bool) -> Option<Timestamp> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let date = if next_day { date.next_day()? } else { date };
    let secs = date.midnight().assume_utc().unix_timestamp();
    Some(Timestamp(secs.checked_mul(1000)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_parse_and_bad_ones_are_named_and_dropped() {
        let (form, f, error) = list_filter(
            "decision=rejected&type=x.0200&destination=ABC&from=2026-12-01&to=2026-12-05&page=2",
        );
        assert_eq!(error, None);
        assert_eq!(f.accepted, Some(false));
        assert_eq!(f.message_type.as_deref(), Some("x.0200"));
        assert_eq!(f.destination_id.as_deref(), Some("abc"));
        assert_eq!(f.since, Some(Timestamp(1_796_083_200_000)));
        assert_eq!(
            f.until,
            Some(Timestamp(1_796_515_200_000)),
            "end of the 5th"
        );
        assert_eq!((f.limit, f.offset), (PAGE_SIZE + 1, 100));
        assert_eq!(form.page, 2);

        let (form, f, error) = list_filter("decision=maybe&from=2026-13-01&page=-1");
        assert!(error.is_some());
        assert_eq!((f.accepted, f.since, f.offset), (None, None, 0));
        assert!(form.decision.is_empty() && form.from.is_empty());
    }
}

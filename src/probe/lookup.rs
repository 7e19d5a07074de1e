//! One DNS check: ask the monitor's question, then hold the answer to NOERROR with at least one
//! record, unless the monitor's conditions say what the response code or the records must be
//! (a condition on the response code judges the whole answer).

use super::connection::{Progress, Step};
use super::dns_query::DnsQuerier;
use super::{CheckError, ErrorKind, Failure, Observed};
use crate::monitor::{Assertions, DnsQuestion};

pub(super) async fn check(
    question: &DnsQuestion,
    querier: &DnsQuerier,
    assertions: &Assertions,
    ways: &super::Ways<'_>,
    progress: &Progress,
) -> Result<Observed, Failure> {
    progress.enter(Step::Resolve);
    let answer = querier
        .query(
            question.resolver,
            question.name(),
            question.record_type,
            ways.timeout,
        )
        .await?;
    progress.leave();
    let asked = format!("{} {}", question.name(), question.record_type);
    let judged = |subject: &str| assertions.conditions().any(|c| c.subject() == subject);
    if !judged("rcode") && answer.rcode != "NOERROR" {
        return Err(CheckError::new(ErrorKind::Dns, format!("{asked}: {}", answer.rcode)).into());
    }
    if !judged("answers") && !judged("rcode") && answer.answers.is_empty() {
        return Err(CheckError::new(ErrorKind::Dns, format!("{asked}: no records")).into());
    }
    Ok(Observed {
        rcode: Some(answer.rcode),
        answers: answer.answers,
        ..Observed::default()
    })
}

//! Closed sets held as `text` columns (each with a CHECK listing exactly its values) read and
//! written as their Rust enums: a row with any other text is a deserialisation error, never a
//! silently wrong default. The enums derive `AsExpression`/`FromSqlRow` with
//! `sql_type = Text`; this file gives them the conversions, through their one `as_str`/`parse`.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::workflow::{
    AssessmentState, ClarificationStatus, EvidenceKind, FinalisedAs, PeriodPhase, RankingScope,
};
use crate::domain::{SetStatus, TokenScope, UnitKind};

macro_rules! text_column {
    ($($t:ty),+ $(,)?) => {$(
        impl ToSql<Text, Pg> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }
        impl FromSql<Text, Pg> for $t {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                <$t>::parse(&text).ok_or_else(|| {
                    format!("{:?} is not a {}", text, stringify!($t)).into()
                })
            }
        }
    )+};
}

text_column!(
    AssessmentState,
    ClarificationStatus,
    EvidenceKind,
    FinalisedAs,
    PeriodPhase,
    RankingScope,
    SetStatus,
    TokenScope,
    UnitKind,
);

//! `jsonb` and `json` values kept as the JSON text PostgreSQL sends and takes, never parsed
//! into a `serde_json::Value` tree on the way: a group rescore reads 340,000 answers' inputs
//! (`json` columns) on one connection and parses them on every core, and a job's result (an
//! import's dry run lists every row: tens of megabytes) is stored from the serialised body and
//! served as it is stored.

use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Json, Jsonb};

/// jsonb's binary form: this version byte, then the JSON text.
const JSONB_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow, AsExpression)]
#[diesel(sql_type = Jsonb)]
#[diesel(sql_type = Json)]
pub struct JsonText(Vec<u8>);

impl JsonText {
    /// `value` serialised.
    pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<JsonText> {
        serde_json::to_vec(value).map(JsonText)
    }

    /// The JSON text as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The JSON text as stored.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The text as a raw JSON value, serialised as it is (checked, not parsed into a tree).
    pub fn into_raw(self) -> serde_json::Result<Box<serde_json::value::RawValue>> {
        let text = String::from_utf8(self.0).map_err(|e| {
            <serde_json::Error as serde::de::Error>::custom(format!("jsonb text: {e}"))
        })?;
        serde_json::value::RawValue::from_string(text)
    }
}

impl FromSql<Jsonb, Pg> for JsonText {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&JSONB_VERSION, text)) => Ok(JsonText(text.to_vec())),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl ToSql<Jsonb, Pg> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        out.write_all(&self.0)?;
        Ok(serialize::IsNull::No)
    }
}

/// `json`'s binary form is the JSON text itself, as stored.
impl FromSql<Json, Pg> for JsonText {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(JsonText(value.as_bytes().to_vec()))
    }
}

impl ToSql<Json, Pg> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&self.0)?;
        Ok(serialize::IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_keeps_its_text_and_parses_back() {
        let v = serde_json::json!({"rows": [{"row": 2, "node": "1.1"}], "n": "0.5"});
        let t = JsonText::of(&v).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(t.as_bytes()).unwrap(),
            v
        );
        let text = serde_json::to_string(&v).unwrap();
        let raw = t.into_raw().unwrap();
        assert_eq!(raw.get(), text);
        // served inside another body as it is
        let wrapped = serde_json::to_string(&serde_json::json!({"result": raw})).unwrap();
        assert_eq!(wrapped, format!(r#"{{"result":{text}}}"#));
    }

    #[test]
    fn text_that_is_not_json_is_refused_as_raw() {
        assert!(JsonText(b"{not json".to_vec()).into_raw().is_err());
        assert!(JsonText(vec![0xff, 0xfe]).into_raw().is_err());
    }
}

//! `text[]` columns read as `Vec<T>`. PostgreSQL keeps no NOT NULL for the elements of an array,
//! so `diesel print-schema` types every `text[]` column as `Array<Nullable<Text>>`, which Diesel
//! reads only into `Vec<Option<_>>`. No writer of ours stores a NULL element (unit tags, an
//! assessment's copy of them, token scopes, webhook event types, the codes a node replaces are
//! all written from `Vec`s of values), so the models keep `Vec<T>` and read through
//! [`TextArray`] with `#[diesel(deserialize_as = TextArray<T>)]`: a NULL element is a
//! deserialisation error, never an element silently dropped. Writing needs nothing: a `Vec<T>`
//! binds as `Array<Nullable<Text>>` as it does as `Array<Text>`.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Array, Nullable, Text};

/// A `text[]` value with no NULL element, each element read as `T` (`String`, or one of the
/// closed sets of `db::text_enum`).
#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
pub struct TextArray<T>(pub Vec<T>);

impl<T> FromSql<Array<Nullable<Text>>, Pg> for TextArray<T>
where
    T: FromSql<Text, Pg>,
{
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let elements = <Vec<Option<T>> as FromSql<Array<Nullable<Text>>, Pg>>::from_sql(bytes)?;
        elements
            .into_iter()
            .enumerate()
            .map(|(i, element)| {
                element
                    .ok_or_else(|| format!("element {} of a text[] column is NULL", i + 1).into())
            })
            .collect::<deserialize::Result<Vec<T>>>()
            .map(TextArray)
    }
}

impl<T> From<TextArray<T>> for Vec<T> {
    fn from(array: TextArray<T>) -> Vec<T> {
        array.0
    }
}

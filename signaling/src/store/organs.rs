//! Entes, organs and their members.

use sqlx::any::AnyRow;

use super::rows::{bool_int, flag, json, opt_text, text, to_json, u32_col};
use super::{Ente, Member, Organ, OrganSettings, Store, StoreError};

impl Store {
    /// Adds an ente; [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_ente(&self, e: &Ente) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO enti (id, name, codice_istat) VALUES ($1, $2, $3)")
            .bind(&e.id)
            .bind(&e.name)
            .bind(&e.codice_istat)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every ente, by name.
    pub async fn list_enti(&self) -> Result<Vec<Ente>, StoreError> {
        let rows = sqlx::query("SELECT id, name, codice_istat FROM enti")
            .fetch_all(&self.pool)
            .await?;
        let mut enti = rows
            .iter()
            .map(|r| {
                Ok(Ente {
                    id: text(r, "id")?,
                    name: text(r, "name")?,
                    codice_istat: opt_text(r, "codice_istat")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Sorted here, not in SQL: the engines' collations differ.
        enti.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(enti)
    }

    /// Adds an organ of an existing ente; [`StoreError::Conflict`] if the id is
    /// taken or the ente does not exist.
    pub async fn insert_organ(&self, o: &Organ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO organs (id, ente_id, name, seats, settings) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&o.id)
        .bind(&o.ente_id)
        .bind(&o.name)
        .bind(i64::from(o.seats))
        .bind(to_json(&o.settings)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The organ `id`, if it exists.
    pub async fn organ(&self, id: &str) -> Result<Option<Organ>, StoreError> {
        sqlx::query("SELECT id, ente_id, name, seats, settings FROM organs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| organ_from(&r))
            .transpose()
    }

    /// The organs of an ente, by name.
    pub async fn list_organs(&self, ente_id: &str) -> Result<Vec<Organ>, StoreError> {
        let rows =
            sqlx::query("SELECT id, ente_id, name, seats, settings FROM organs WHERE ente_id = $1")
                .bind(ente_id)
                .fetch_all(&self.pool)
                .await?;
        let mut organs = rows.iter().map(organ_from).collect::<Result<Vec<_>, _>>()?;
        organs.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(organs)
    }

    /// Replaces an organ's settings; [`StoreError::NotFound`] if there is no such organ.
    pub async fn update_organ_settings(
        &self,
        id: &str,
        settings: &OrganSettings,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE organs SET settings = $2 WHERE id = $1")
            .bind(id)
            .bind(to_json(settings)?)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Adds a member (a period of office) of an existing organ;
    /// [`StoreError::Conflict`] if the id is taken or the organ does not exist.
    pub async fn insert_member(&self, m: &Member) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO members (id, organ_id, name, office, presiding, valid_from, valid_to) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&m.id)
        .bind(&m.organ_id)
        .bind(&m.name)
        .bind(&m.office)
        .bind(bool_int(m.presiding))
        .bind(&m.valid_from)
        .bind(&m.valid_to)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every member an organ has had, by name.
    pub async fn members(&self, organ_id: &str) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, organ_id, name, office, presiding, valid_from, valid_to \
             FROM members WHERE organ_id = $1",
        )
        .bind(organ_id)
        .fetch_all(&self.pool)
        .await?;
        members_from(&rows)
    }

    /// The members in office (in carica) on `date` (`YYYY-MM-DD`): those with
    /// `valid_from <= date` and no `valid_to` or `date <= valid_to`; by name.
    pub async fn members_in_office(
        &self,
        organ_id: &str,
        date: &str,
    ) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, organ_id, name, office, presiding, valid_from, valid_to \
             FROM members WHERE organ_id = $1 AND valid_from <= $2 \
             AND (valid_to IS NULL OR $2 <= valid_to)",
        )
        .bind(organ_id)
        .bind(date)
        .fetch_all(&self.pool)
        .await?;
        members_from(&rows)
    }

    /// Ends a member's period of office: `valid_to` is the last day in office;
    /// [`StoreError::NotFound`] if there is no such member.
    pub async fn end_membership(&self, member_id: &str, valid_to: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE members SET valid_to = $2 WHERE id = $1")
            .bind(member_id)
            .bind(valid_to)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

fn organ_from(r: &AnyRow) -> Result<Organ, StoreError> {
    Ok(Organ {
        id: text(r, "id")?,
        ente_id: text(r, "ente_id")?,
        name: text(r, "name")?,
        seats: u32_col(r, "seats")?,
        settings: json(r, "settings")?,
    })
}

fn members_from(rows: &[AnyRow]) -> Result<Vec<Member>, StoreError> {
    let mut members = rows
        .iter()
        .map(|r| {
            Ok(Member {
                id: text(r, "id")?,
                organ_id: text(r, "organ_id")?,
                name: text(r, "name")?,
                office: text(r, "office")?,
                presiding: flag(r, "presiding")?,
                valid_from: text(r, "valid_from")?,
                valid_to: opt_text(r, "valid_to")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    members.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(members)
}

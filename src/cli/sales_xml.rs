//! `facteur sales xml ID --format cii|ubl`: an issued sale as XML alone. CII is the XML inside
//! the Factur-X PDF stored when the sale was issued (what the customer received, byte for
//! byte); UBL 2.1 is written from the stored sale, its customer and the invoice a credit note
//! corrects (`receivables::ubl`), so both carry the same number, dates, totals and VAT ids.

use super::customers::refusal;
use super::sales::XmlFormat;
use super::{Failure, Settings};
use crate::receivables::{ubl, Issuing, SaleState, Seller};
use crate::store::Store;

pub(super) async fn xml(
    settings: &Settings,
    store: &dyn Store,
    id: i64,
    format: XmlFormat,
) -> Result<String, Failure> {
    let sale = store.sale(id).await.map_err(refusal)?;
    if sale.state != SaleState::Issued {
        return Err(Failure::Config(format!(
            "sale {id} is a draft: only an issued sale has XML (`facteur sales issue {id}`)"
        )));
    }
    match format {
        XmlFormat::Cii => {
            let pdf = store.sale_pdf(id).await.map_err(refusal)?;
            let found = crate::read::einvoice::embedded_xml(&pdf)
                .map_err(|e| super::other(anyhow::anyhow!("sale {id}'s stored PDF: {e}")))?
                .ok_or_else(|| {
                    super::other(anyhow::anyhow!(
                        "sale {id}'s stored PDF carries no factur-x.xml"
                    ))
                })?;
            String::from_utf8(found.bytes).map_err(|e| {
                super::other(anyhow::anyhow!(
                    "sale {id}'s factur-x.xml is not UTF-8: {e}"
                ))
            })
        }
        XmlFormat::Ubl => {
            let customer = store
                .customer(&sale.customer_id.to_string())
                .await
                .map_err(refusal)?;
            let credited = match sale.credits {
                Some(c) => Some(store.sale(c).await.map_err(refusal)?),
                None => None,
            };
            let seller = Seller {
                company: &settings.company,
                sales: &settings.sales,
            };
            Ok(ubl::write(
                seller,
                &Issuing {
                    invoice: sale,
                    customer,
                    credited,
                },
            ))
        }
    }
}

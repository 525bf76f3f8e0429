//! The deterministic demo data of both CRMs, generated once at start.

use std::collections::HashSet;

use crate::date::Date;
use crate::page::{LookAlikeKind, Seg};
use crate::phone::{Format, PhoneNumber, FORMATS};
use crate::rng::Rng;

/// The seed of all demo data. Changing it changes every page (and the truth with it).
pub const SEED: u64 = 0x4d50_545f_4352_4d31;

/// Contacts in MPT-CRM (list pages show 50 at a time).
pub const MPT_CONTACTS: usize = 150;
/// Rows on MPT-CRM's `/stress` page.
pub const STRESS_ROWS: usize = 10_000;
/// Clients in AMS-APP-CRM.
pub const AMS_CLIENTS: usize = 60;

const FIRST: [&str; 40] = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "William",
    "Mia",
    "Benjamin",
    "Charlotte",
    "Lucas",
    "Amelia",
    "Henry",
    "Harper",
    "Alexander",
    "Evelyn",
    "Mateo",
    "Abigail",
    "Daniel",
    "Emily",
    "Michael",
    "Ella",
    "Sebastian",
    "Elizabeth",
    "Jack",
    "Camila",
    "Owen",
    "Luna",
    "Samuel",
    "Sofia",
    "Wyatt",
    "Avery",
    "Priya",
    "Wei",
    "Aisha",
    "Diego",
    "Hannah",
];
const LAST: [&str; 40] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Nguyen",
    "Patel",
    "O'Connor",
    "Kowalski",
    "Okafor",
];
const COMPANY_A: [&str; 20] = [
    "Acme",
    "Blue Ridge",
    "Cobalt",
    "Driftwood",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Harborview",
    "Ironclad",
    "Juniper",
    "Keystone",
    "Lakeshore",
    "Meridian",
    "Northstar",
    "Oakline",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Silverline",
    "Tidewater",
];
const COMPANY_B: [&str; 12] = [
    "Logistics",
    "Dental Group",
    "Software",
    "Builders",
    "Analytics",
    "Foods",
    "Health Partners",
    "Manufacturing",
    "Realty",
    "Energy",
    "Legal LLP",
    "Outfitters",
];
const TITLES: [&str; 10] = [
    "VP of Operations",
    "Office Manager",
    "CFO",
    "Purchasing Lead",
    "IT Director",
    "Owner",
    "Head of Procurement",
    "Practice Manager",
    "COO",
    "Facilities Manager",
];
/// Pipeline stages, in order.
pub const STAGES: [&str; 6] = ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"];
const OWNERS: [&str; 5] = ["Dana Reyes", "Marcus Hall", "Jen Ito", "Sam Patel", "Kim Novak"];
const STREETS: [&str; 12] = [
    "Market St",
    "Main St",
    "Oak Ave",
    "Pine St",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Lake Blvd",
    "Washington Ave",
    "Park Pl",
    "Harbor Way",
    "Industrial Pkwy",
];

/// A US city with its ZIP prefix and area codes.
struct City {
    name: &'static str,
    state: &'static str,
    zip: &'static str,
    areas: &'static [u16],
}

const CITIES: [City; 16] = [
    City { name: "San Francisco", state: "CA", zip: "941", areas: &[415, 628] },
    City { name: "Los Angeles", state: "CA", zip: "900", areas: &[213, 323, 310] },
    City { name: "New York", state: "NY", zip: "100", areas: &[212, 646, 917] },
    City { name: "Chicago", state: "IL", zip: "606", areas: &[312, 773] },
    City { name: "Boston", state: "MA", zip: "021", areas: &[617, 857] },
    City { name: "Seattle", state: "WA", zip: "981", areas: &[206] },
    City { name: "Denver", state: "CO", zip: "802", areas: &[303, 720] },
    City { name: "Atlanta", state: "GA", zip: "303", areas: &[404, 470] },
    City { name: "Miami", state: "FL", zip: "331", areas: &[305, 786] },
    City { name: "Austin", state: "TX", zip: "787", areas: &[512, 737] },
    City { name: "Houston", state: "TX", zip: "770", areas: &[713, 832] },
    City { name: "Phoenix", state: "AZ", zip: "850", areas: &[602, 480] },
    City { name: "Portland", state: "OR", zip: "972", areas: &[503, 971] },
    City { name: "Minneapolis", state: "MN", zip: "554", areas: &[612] },
    City { name: "Philadelphia", state: "PA", zip: "191", areas: &[215, 267] },
    City { name: "Dallas", state: "TX", zip: "752", areas: &[214, 469, 972] },
];

const AMS_CITIES: [City; 6] = [
    City { name: "Boston", state: "MA", zip: "021", areas: &[617, 857] },
    City { name: "Quincy", state: "MA", zip: "021", areas: &[617] },
    City { name: "Lexington", state: "MA", zip: "024", areas: &[781, 339] },
    City { name: "Worcester", state: "MA", zip: "016", areas: &[508, 774] },
    City { name: "Nashua", state: "NH", zip: "030", areas: &[603] },
    City { name: "Providence", state: "RI", zip: "029", areas: &[401] },
];

/// A street address with ZIP+4.
#[derive(Debug, Clone)]
pub struct Address {
    /// `1234 Market St, Suite 500`
    pub street: String,
    /// City name.
    pub city: String,
    /// State (or `UK`).
    pub state: String,
    /// `94107-2231` (or a UK postcode).
    pub postcode: String,
}

/// One entry of a contact's activity timeline.
#[derive(Debug, Clone)]
pub struct Activity {
    /// When.
    pub date: Date,
    /// Call, Email, Meeting, Note.
    pub kind: &'static str,
    /// Who logged it.
    pub by: &'static str,
    /// The note.
    pub note: Vec<Seg>,
}

/// A contact of MPT-CRM.
#[derive(Debug, Clone)]
pub struct Contact {
    /// `c-0042`
    pub id: String,
    /// Given name.
    pub first: String,
    /// Family name.
    pub last: String,
    /// Job title.
    pub title: &'static str,
    /// Company name.
    pub company: String,
    /// Email address.
    pub email: String,
    /// Work number and how this CRM prints it.
    pub work: (PhoneNumber, Format),
    /// Mobile number.
    pub mobile: (PhoneNumber, Format),
    /// Fax number.
    pub fax: (PhoneNumber, Format),
    /// Home number with its extension.
    pub home: (PhoneNumber, Format, String),
    /// Pipeline stage.
    pub stage: &'static str,
    /// Account owner.
    pub owner: &'static str,
    /// Last contact date.
    pub last_contact: Date,
    /// Deal value in dollars.
    pub deal_value: u32,
    /// Deal id as printed, `DL-6468120171`.
    pub deal_id: String,
    /// Address.
    pub address: Address,
    /// Activity timeline, newest first.
    pub activities: Vec<Activity>,
    /// Private notes (shown in the contenteditable box): mention the mobile number.
    pub notes: String,
    /// Numbers the contact used before, shown in a collapsed `<details>` section.
    pub previous: Vec<(PhoneNumber, Format)>,
}

impl Contact {
    /// `First Last`
    pub fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// All numbers of the contact with their labels.
    pub fn numbers(&self) -> [(&'static str, &PhoneNumber); 4] {
        [("work", &self.work.0), ("mobile", &self.mobile.0), ("fax", &self.fax.0), ("home", &self.home.0)]
    }
}

/// A row of the `/stress` page.
#[derive(Debug, Clone)]
pub struct StressRow {
    /// `c-10042`
    pub id: String,
    /// Name.
    pub name: String,
    /// Company.
    pub company: String,
    /// Phone.
    pub phone: (PhoneNumber, Format),
    /// Mobile.
    pub mobile: (PhoneNumber, Format),
    /// Stage.
    pub stage: &'static str,
}

/// An insurance agent (producer) of the agency.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Name.
    pub name: &'static str,
    /// Direct line.
    pub direct: PhoneNumber,
    /// Extension on the agency's main line.
    pub ext: String,
}

/// An insurance carrier.
#[derive(Debug, Clone)]
pub struct Carrier {
    /// Name.
    pub name: &'static str,
    /// Toll-free claims line.
    pub claims: PhoneNumber,
    /// NAIC company code (5 digits).
    pub naic: String,
}

/// A client of AMS-APP-CRM.
#[derive(Debug, Clone)]
pub struct Client {
    /// `c-2001`
    pub id: String,
    /// Display name (person or business).
    pub name: String,
    /// Personal or Commercial.
    pub kind: &'static str,
    /// Home (personal) or business (commercial) number.
    pub primary: (PhoneNumber, Format),
    /// Cell number.
    pub cell: (PhoneNumber, Format),
    /// Email.
    pub email: String,
    /// Address.
    pub address: Address,
    /// Client since (year).
    pub since: u16,
    /// Account number as printed, `Acct #4049920182`.
    pub account: String,
    /// Index of the producer in [`Ams::agents`].
    pub agent: usize,
}

/// A policy of AMS-APP-CRM.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `p-0007`
    pub id: String,
    /// Policy number as printed, `HO3-9728830134`.
    pub number: String,
    /// Line of business.
    pub line: &'static str,
    /// Index into [`Ams::clients`].
    pub client: usize,
    /// Index into [`Ams::carriers`].
    pub carrier: usize,
    /// Effective date.
    pub effective: Date,
    /// Expiration date.
    pub expires: Date,
    /// Annual premium in cents.
    pub premium_cents: u64,
    /// Coverage limit in dollars.
    pub limit: u32,
    /// Open claim number as printed (`Claim # 508-771-2034`), if any.
    pub claim: Option<String>,
    /// Mortgage loan number as printed, for property lines.
    pub loan: Option<String>,
    /// VIN for auto lines.
    pub vin: Option<String>,
}

/// MPT-CRM's data.
#[derive(Debug, Clone)]
pub struct Mpt {
    /// Support line in the footer of every page.
    pub support: PhoneNumber,
    /// The caller-id numbers offered in the "Call from" select.
    pub caller_ids: Vec<PhoneNumber>,
    /// Contacts, `c-0001` first.
    pub contacts: Vec<Contact>,
    /// Rows of `/stress`.
    pub stress: Vec<StressRow>,
}

/// AMS-APP-CRM's data.
#[derive(Debug, Clone)]
pub struct Ams {
    /// The agency's main line.
    pub main_line: PhoneNumber,
    /// Producers.
    pub agents: Vec<Agent>,
    /// Carriers.
    pub carriers: Vec<Carrier>,
    /// Clients, `c-2001` first.
    pub clients: Vec<Client>,
    /// Policies, `p-0001` first.
    pub policies: Vec<Policy>,
}

/// All demo data.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// MPT-CRM.
    pub mpt: Mpt,
    /// AMS-APP-CRM.
    pub ams: Ams,
}

/// Hands out distinct fictional numbers.
struct Pool {
    used: HashSet<PhoneNumber>,
}

impl Pool {
    /// A fresh `AREA-555-01XX` number in one of `areas`.
    fn nanp(&mut self, rng: &mut Rng, areas: &[u16]) -> PhoneNumber {
        for _ in 0..200 {
            let n = PhoneNumber::nanp(rng.pick(areas), 5_550_100 + rng.range(0, 99) as u32);
            if self.used.insert(n.clone()) {
                return n;
            }
        }
        // Every area is nearly full: take the first free slot anywhere in the list.
        for area in areas.iter().chain(CITIES.iter().flat_map(|c| c.areas.iter())) {
            for sub in 0..100 {
                let n = PhoneNumber::nanp(*area, 5_550_100 + sub);
                if self.used.insert(n.clone()) {
                    return n;
                }
            }
        }
        PhoneNumber::nanp(areas.first().copied().unwrap_or(201), 5_550_100)
    }

    /// A fresh UK number: London landline (`20 7946 0XXX`) or mobile (`7700 900XXX`).
    fn uk(&mut self, rng: &mut Rng, mobile: bool) -> PhoneNumber {
        let prefix = if mobile { "7700900" } else { "2079460" };
        let mut n = PhoneNumber::uk(&format!("{prefix}000"));
        for _ in 0..5000 {
            n = PhoneNumber::uk(&format!("{prefix}{:03}", rng.range(0, 999)));
            if self.used.insert(n.clone()) {
                break;
            }
        }
        n
    }
}

/// Ten digits shaped like a North American number but outside the `555` block.
fn lookalike_digits(rng: &mut Rng) -> String {
    let area = rng.range(2, 9) * 100 + rng.range(0, 8) * 10 + rng.range(0, 9);
    let mut exchange = rng.range(200, 999);
    if exchange == 555 || exchange % 100 == 11 {
        exchange += 1;
    }
    format!("{area:03}{exchange:03}{:04}", rng.range(0, 9999))
}

/// `4158230199` → `415-823-0199`
fn dashed(d: &str) -> String {
    format!("{}-{}-{}", &d[0..3], &d[3..6], &d[6..])
}

fn money(dollars: u64) -> String {
    let s = dollars.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("${out}")
}

/// `$1,234.56` from cents.
pub fn money_cents(cents: u64) -> String {
    format!("{}.{:02}", money(cents / 100), cents % 100)
}

/// `$48,500` from dollars.
pub fn money_dollars(dollars: u32) -> String {
    money(u64::from(dollars))
}

fn zip4(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}{:02}-{:04}", rng.range(1, 99), rng.range(1000, 9999))
}

fn us_address(rng: &mut Rng, city: &City) -> Address {
    let mut street = format!("{} {}", rng.range(10, 9899), rng.pick(&STREETS));
    if rng.chance(40) {
        street.push_str(&format!(", Suite {}", rng.range(100, 990)));
    }
    Address { street, city: city.name.to_owned(), state: city.state.to_owned(), postcode: zip4(rng, city.zip) }
}

fn text(s: impl Into<String>) -> Seg {
    Seg::Text(s.into())
}

/// An activity note: mentions numbers, dates, invoices, orders.
fn activity_note(rng: &mut Rng, c: &Contact, pool: &mut Pool, date: Date, areas: &[u16]) -> Vec<Seg> {
    let inv = lookalike_digits(rng);
    let order = lookalike_digits(rng);
    let follow = date.plus_days(rng.range(2, 20) as u32);
    match rng.range(0, 6) {
        0 => vec![
            text("Called "),
            Seg::Phone(c.work.0.clone(), c.work.1),
            text(" and left a voicemail about "),
            Seg::LookAlike(LookAlikeKind::Invoice, format!("Invoice #{inv}")),
            text("."),
        ],
        1 => vec![
            text("Sent the quote for "),
            Seg::LookAlike(LookAlikeKind::Order, format!("Order No. {}", dashed(&order))),
            text("; follow up on "),
            Seg::LookAlike(LookAlikeKind::Date, follow.us()),
            text("."),
        ],
        2 => vec![
            text("Prefers the mobile, "),
            Seg::Phone(c.mobile.0.clone(), rng.pick(&FORMATS)),
            text(", after 5 PM. "),
            Seg::LookAlike(LookAlikeKind::PurchaseOrder, format!("PO {order}")),
            text(" approved."),
        ],
        3 => {
            let assistant = pool.nanp(rng, areas);
            vec![
                text("Assistant (Pat) can be reached at "),
                Seg::Phone(assistant, rng.pick(&FORMATS)),
                text(". Payment of "),
                Seg::LookAlike(LookAlikeKind::Amount, money(rng.range(1_000, 1_250_000))),
                text(" received for "),
                Seg::LookAlike(LookAlikeKind::Invoice, format!("INV-{inv}")),
                text("."),
            ]
        }
        4 => {
            let bridge = pool.nanp(rng, &[800, 888]);
            vec![
                text("Demo booked for "),
                Seg::LookAlike(LookAlikeKind::Date, follow.to_string()),
                text(" at 2:30 PM, dial-in "),
                Seg::Phone(bridge, Format::LeadingOne),
                text(", "),
                Seg::LookAlike(LookAlikeKind::Pin, format!("PIN {}#", rng.range(100_000, 999_999))),
                text("."),
            ]
        }
        5 => vec![
            text("Shipment for "),
            Seg::LookAlike(LookAlikeKind::Order, format!("order #{order}")),
            text(" delayed; "),
            Seg::LookAlike(LookAlikeKind::Reference, format!("Ref {}-{}", date.to_string().replace('-', ""), rng.range(1000, 9999))),
            text(". Fax the signed copy to "),
            Seg::Phone(c.fax.0.clone(), c.fax.1),
            text("."),
        ],
        _ => vec![
            text("Renewal discussed; "),
            Seg::LookAlike(LookAlikeKind::Deal, c.deal_id.clone()),
            text(" moved to "),
            text(c.stage),
            text("."),
        ],
    }
}

fn contact(rng: &mut Rng, pool: &mut Pool, i: usize) -> Contact {
    let first = rng.pick(&FIRST).to_string();
    let last = rng.pick(&LAST).to_string();
    let company = format!("{} {}", rng.pick(&COMPANY_A), rng.pick(&COMPANY_B));
    let domain: String = company.to_lowercase().chars().filter(char::is_ascii_alphanumeric).take(14).collect();
    let london = i % 25 == 7;
    let city = &CITIES[rng.index(CITIES.len())];
    let (work, mobile, fax, home, address) = if london {
        (
            pool.uk(rng, false),
            pool.uk(rng, true),
            pool.uk(rng, false),
            pool.uk(rng, false),
            Address {
                street: format!("{} Poultry", rng.range(1, 40)),
                city: "London".into(),
                state: "UK".into(),
                postcode: "EC2R 8AH".into(),
            },
        )
    } else {
        (
            pool.nanp(rng, city.areas),
            pool.nanp(rng, city.areas),
            pool.nanp(rng, city.areas),
            pool.nanp(rng, city.areas),
            us_address(rng, city),
        )
    };
    let last_contact = Date::new(2025, 1, 2).plus_days(rng.range(0, 300) as u32);
    let mut c = Contact {
        id: format!("c-{:04}", i + 1),
        email: format!("{}.{}@{}.com", first.to_lowercase(), last.to_lowercase().replace('\'', ""), domain),
        first,
        last,
        title: rng.pick(&TITLES),
        company,
        work: (work, rng.pick(&FORMATS)),
        mobile: (mobile, rng.pick(&FORMATS)),
        fax: (fax, rng.pick(&FORMATS)),
        home: (home, rng.pick(&FORMATS), rng.range(2, 989).to_string()),
        stage: rng.pick(&STAGES),
        owner: rng.pick(&OWNERS),
        last_contact,
        deal_value: (rng.range(5, 950) * 500) as u32,
        deal_id: format!("DL-{}", lookalike_digits(rng)),
        address,
        activities: Vec::new(),
        notes: String::new(),
        previous: Vec::new(),
    };
    c.notes = format!("Gatekeeper is strict. Try the mobile {} before 10 AM.", c.mobile.0.format(Format::Dash));
    let areas: Vec<u16> = if london { vec![415] } else { city.areas.to_vec() };
    let n = rng.range(4, 7);
    let mut date = last_contact;
    let mut acts = Vec::new();
    for _ in 0..n {
        let note = activity_note(rng, &c, pool, date, &areas);
        acts.push(Activity { date, kind: rng.pick(&["Call", "Email", "Meeting", "Note"]), by: rng.pick(&OWNERS), note });
        // Older entries further down: walk back from the last contact date.
        date = Date::new(2024, 6, 1).plus_days(rng.range(0, 200) as u32).min(date);
    }
    c.activities = acts;
    c
}

fn stress_row(rng: &mut Rng, i: usize) -> StressRow {
    let city = &CITIES[rng.index(CITIES.len())];
    let phone = PhoneNumber::nanp(rng.pick(city.areas), 5_550_100 + rng.range(0, 99) as u32);
    let mobile = PhoneNumber::nanp(rng.pick(city.areas), 5_550_100 + rng.range(0, 99) as u32);
    StressRow {
        id: format!("c-{:05}", 10_000 + i),
        name: format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST)),
        company: format!("{} {}", rng.pick(&COMPANY_A), rng.pick(&COMPANY_B)),
        phone: (phone, rng.pick(&FORMATS)),
        mobile: (mobile, rng.pick(&FORMATS)),
        stage: rng.pick(&STAGES),
    }
}

const AGENTS: [&str; 5] = ["Rosa Delgado", "Tom Brennan", "Aiyana Clarke", "Victor Hsu", "Megan Doyle"];
const CARRIERS: [&str; 6] = [
    "Granite Mutual",
    "Bayside Casualty",
    "Northwind Insurance Co.",
    "Harbor Light Indemnity",
    "Cascade Fire & Marine",
    "Summit Life & Annuity",
];
const LINES: [(&str, &str); 6] = [
    ("Homeowners (HO-3)", "HO3"),
    ("Personal Auto", "PA"),
    ("Personal Umbrella", "PUP"),
    ("Businessowners (BOP)", "BOP"),
    ("Workers Compensation", "WC"),
    ("Commercial Auto", "CA"),
];
const BUSINESS: [&str; 15] = [
    "Brennan's Bakery",
    "Quincy Marine Supply",
    "Lexington Dental Arts",
    "Northeast HVAC Pros",
    "Granite State Landscaping",
    "Harborside Cafe",
    "Pioneer Valley Movers",
    "Bay Colony Florists",
    "Blackstone Auto Body",
    "Merrimack Print Shop",
    "Narragansett Seafood Co.",
    "Back Bay Yoga Studio",
    "Minuteman Roofing",
    "Federal Hill Trattoria",
    "Charles River Daycare",
];

const VIN_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

fn vin(rng: &mut Rng) -> String {
    (0..17).map(|_| char::from(VIN_CHARS[rng.index(VIN_CHARS.len())])).collect()
}

fn ams(rng: &mut Rng, pool: &mut Pool) -> Ams {
    let main_line = pool.nanp(rng, &[617]);
    let agents = AGENTS
        .iter()
        .enumerate()
        .map(|(i, name)| Agent { name, direct: pool.nanp(rng, &[617, 781]), ext: format!("{}", 201 + i) })
        .collect();
    let carriers = CARRIERS
        .iter()
        .map(|name| Carrier { name, claims: pool.nanp(rng, &[800, 888, 877, 866]), naic: format!("{}", rng.range(10_000, 39_999)) })
        .collect();
    let mut clients = Vec::new();
    let mut policies = Vec::new();
    for i in 0..AMS_CLIENTS {
        let city = &AMS_CITIES[rng.index(AMS_CITIES.len())];
        let commercial = i % 4 == 3;
        let name =
            if commercial { BUSINESS[(i / 4) % BUSINESS.len()].to_string() } else { format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST)) };
        let slug: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).take(12).collect();
        let client = Client {
            id: format!("c-{}", 2001 + i),
            email: format!("{slug}@example.net"),
            name,
            kind: if commercial { "Commercial" } else { "Personal" },
            primary: (pool.nanp(rng, city.areas), rng.pick(&FORMATS)),
            cell: (pool.nanp(rng, city.areas), rng.pick(&FORMATS)),
            address: us_address(rng, city),
            since: rng.range(2004, 2024) as u16,
            account: format!("Acct #{}", lookalike_digits(rng)),
            agent: rng.index(AGENTS.len()),
        };
        let n = rng.range(1, 3);
        for _ in 0..n {
            let (line, prefix) = if commercial { LINES[rng.range(3, 5) as usize] } else { LINES[rng.range(0, 2) as usize] };
            let effective = Date::new(2025, 1, 1).plus_days(rng.range(0, 360) as u32);
            let property = prefix == "HO3" || prefix == "BOP";
            let auto = prefix == "PA" || prefix == "CA";
            policies.push(Policy {
                id: format!("p-{:04}", policies.len() + 1),
                number: format!("{prefix}-{}", lookalike_digits(rng)),
                line,
                client: i,
                carrier: rng.index(CARRIERS.len()),
                effective,
                expires: effective.plus_days(365),
                premium_cents: rng.range(45_000, 1_250_000),
                limit: (rng.range(1, 40) * 25_000) as u32,
                claim: rng.chance(45).then(|| format!("Claim # {}", dashed(&lookalike_digits(rng)))),
                loan: property.then(|| format!("Loan No. {}", lookalike_digits(rng))),
                vin: auto.then(|| vin(rng)),
            });
        }
        clients.push(client);
    }
    Ams { main_line, agents, carriers, clients, policies }
}

impl Dataset {
    /// Generates all demo data from [`SEED`].
    pub fn generate() -> Self {
        let mut pool = Pool { used: HashSet::new() };
        let mut rng = Rng::derive(SEED, "mpt");
        let support = pool.nanp(&mut rng, &[800]);
        let caller_ids = vec![pool.nanp(&mut rng, &[415]), pool.nanp(&mut rng, &[212])];
        let mut contacts: Vec<Contact> = (0..MPT_CONTACTS).map(|i| contact(&mut rng, &mut pool, i)).collect();
        let mut srng = Rng::derive(SEED, "stress");
        let stress = (0..STRESS_ROWS).map(|i| stress_row(&mut srng, i)).collect();
        let mut arng = Rng::derive(SEED, "ams");
        let ams = ams(&mut arng, &mut pool);
        // Drawn last, from their own stream, so they shift no other number.
        let mut prng = Rng::derive(SEED, "previous");
        for c in &mut contacts {
            let area = match c.work.0.country {
                1 => c.work.0.national.get(0..3).and_then(|a| a.parse().ok()).unwrap_or(415),
                _ => 212,
            };
            c.previous = (0..2).map(|_| (pool.nanp(&mut prng, &[area]), prng.pick(&FORMATS))).collect();
        }
        Self { mpt: Mpt { support, caller_ids, contacts, stress }, ams }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = Dataset::generate();
        let b = Dataset::generate();
        assert_eq!(a.mpt.contacts[17].work, b.mpt.contacts[17].work);
        assert_eq!(a.mpt.stress[9_999].mobile, b.mpt.stress[9_999].mobile);
        assert_eq!(a.ams.policies.len(), b.ams.policies.len());
    }

    #[test]
    fn contact_numbers_are_distinct() {
        let d = Dataset::generate();
        let mut seen = HashSet::new();
        for c in &d.mpt.contacts {
            for (_, n) in c.numbers() {
                assert!(seen.insert(n.clone()), "{n} used twice");
            }
        }
        for c in &d.ams.clients {
            assert!(seen.insert(c.primary.0.clone()));
            assert!(seen.insert(c.cell.0.clone()));
        }
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1_250_000), "$1,250,000");
        assert_eq!(money(999), "$999");
        assert_eq!(money_cents(123_456), "$1,234.56");
    }
}

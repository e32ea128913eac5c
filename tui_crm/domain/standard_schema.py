"""The built-in standard schema, used before (or without) connecting to a backend.

It uses Dataverse's logical names, field types and option values, so records
created offline keep their names when the profile is later bound to a
Dataverse organisation, and the emulator and the connector can share them.
"""

from __future__ import annotations

from tui_crm.domain.entities import EntityDef, FieldDef, FieldType, PicklistOption

_STATE_ACTIVE = (PicklistOption(0, "Active"), PicklistOption(1, "Inactive"))
_STATE_ACTIVITY = (
    PicklistOption(0, "Open"),
    PicklistOption(1, "Completed"),
    PicklistOption(2, "Canceled"),
)
_STATE_APPOINTMENT = (*_STATE_ACTIVITY, PicklistOption(3, "Scheduled"))
_PRIORITY = (PicklistOption(0, "Low"), PicklistOption(1, "Normal"), PicklistOption(2, "High"))
_RATING = (PicklistOption(1, "Hot"), PicklistOption(2, "Warm"), PicklistOption(3, "Cold"))

_INDUSTRY_LABELS = (
    "Accounting",
    "Agriculture and Non-petrol Natural Resource Extraction",
    "Broadcasting Printing and Publishing",
    "Brokers",
    "Building Supply Retail",
    "Business Services",
    "Consulting",
    "Consumer Services",
    "Design, Direction and Creative Management",
    "Distributors, Dispatchers and Processors",
    "Doctor's Offices and Clinics",
    "Durable Manufacturing",
    "Eating and Drinking Places",
    "Entertainment Retail",
    "Equipment Rental and Leasing",
    "Financial",
    "Food and Tobacco Processing",
    "Inbound Capital Intensive Processing",
    "Inbound Repair and Services",
    "Insurance",
    "Legal Services",
    "Non-Durable Merchandise Retail",
    "Outbound Consumer Service",
    "Petrochemical Extraction and Distribution",
    "Service Retail",
    "SIG Affiliations",
    "Social Services",
    "Special Outbound Trade Contractors",
    "Specialty Realty",
    "Transportation",
    "Utility Creation and Distribution",
    "Vehicle Retail",
    "Wholesale",
)
_INDUSTRY = tuple(PicklistOption(i, label) for i, label in enumerate(_INDUSTRY_LABELS, start=1))
_CUSTOMER_TYPE = tuple(
    PicklistOption(i, label)
    for i, label in enumerate(
        (
            "Competitor",
            "Consultant",
            "Customer",
            "Investor",
            "Partner",
            "Influencer",
            "Press",
            "Prospect",
            "Reseller",
            "Supplier",
            "Vendor",
            "Other",
        ),
        start=1,
    )
)
_LEAD_SOURCE = tuple(
    PicklistOption(i, label)
    for i, label in enumerate(
        (
            "Advertisement",
            "Employee Referral",
            "External Referral",
            "Partner",
            "Public Relations",
            "Seminar",
            "Trade Show",
            "Web",
            "Word of Mouth",
            "Other",
        ),
        start=1,
    )
)

_REGARDING_TARGETS = ("account", "contact", "lead", "opportunity")


def _text(name: str, label: str, max_length: int, *, required: bool = False) -> FieldDef:
    return FieldDef(name, label, FieldType.TEXT, required=required, max_length=max_length)


def _memo(name: str, label: str, max_length: int = 2000) -> FieldDef:
    return FieldDef(name, label, FieldType.MULTILINE, max_length=max_length)


def _key(name: str) -> FieldDef:
    return FieldDef(name, "Id", FieldType.UNIQUEIDENTIFIER, read_only=True)


def _pick(name: str, label: str, options: tuple[PicklistOption, ...]) -> FieldDef:
    return FieldDef(name, label, FieldType.PICKLIST, options=options)


def _lookup(name: str, label: str, *targets: str) -> FieldDef:
    return FieldDef(name, label, FieldType.LOOKUP, targets=targets)


def _address1() -> tuple[FieldDef, ...]:
    return (
        _text("address1_line1", "Street 1", 250),
        _text("address1_line2", "Street 2", 250),
        _text("address1_city", "City", 80),
        _text("address1_stateorprovince", "State/Province", 50),
        _text("address1_postalcode", "ZIP/Postal Code", 20),
        _text("address1_country", "Country/Region", 80),
        FieldDef("address1_latitude", "Latitude", FieldType.LATITUDE, min_value=-90, max_value=90),
        FieldDef(
            "address1_longitude", "Longitude", FieldType.LONGITUDE, min_value=-180, max_value=180
        ),
    )


def _phone(name: str, label: str) -> FieldDef:
    return FieldDef(name, label, FieldType.PHONE, max_length=50)


def _email(name: str, label: str = "Email") -> FieldDef:
    return FieldDef(name, label, FieldType.EMAIL, max_length=100)


def _money(name: str, label: str) -> FieldDef:
    return FieldDef(
        name, label, FieldType.MONEY, min_value=-922337203685477, max_value=922337203685477
    )


def _int(name: str, label: str, low: int, high: int) -> FieldDef:
    return FieldDef(name, label, FieldType.INTEGER, min_value=low, max_value=high)


ACCOUNT = EntityDef(
    name="account",
    label="Account",
    plural_label="Accounts",
    primary_key="accountid",
    primary_name="name",
    entity_set="accounts",
    latitude_field="address1_latitude",
    longitude_field="address1_longitude",
    list_columns=("name", "address1_city", "telephone1", "emailaddress1"),
    fields=(
        _key("accountid"),
        _text("name", "Account Name", 160, required=True),
        _text("accountnumber", "Account Number", 20),
        _phone("telephone1", "Main Phone"),
        _phone("telephone2", "Other Phone"),
        _phone("fax", "Fax"),
        _email("emailaddress1"),
        FieldDef("websiteurl", "Website", FieldType.URL, max_length=200),
        *_address1(),
        _lookup("parentaccountid", "Parent Account", "account"),
        _lookup("primarycontactid", "Primary Contact", "contact"),
        _money("revenue", "Annual Revenue"),
        _int("numberofemployees", "Number of Employees", 0, 1_000_000_000),
        _pick("industrycode", "Industry", _INDUSTRY),
        _pick("customertypecode", "Relationship Type", _CUSTOMER_TYPE),
        _pick("statecode", "Status", _STATE_ACTIVE),
        _memo("description", "Description"),
    ),
)

CONTACT = EntityDef(
    name="contact",
    label="Contact",
    plural_label="Contacts",
    primary_key="contactid",
    primary_name="fullname",
    entity_set="contacts",
    latitude_field="address1_latitude",
    longitude_field="address1_longitude",
    list_columns=("fullname", "jobtitle", "telephone1", "emailaddress1"),
    fields=(
        _key("contactid"),
        _text("firstname", "First Name", 50),
        _text("lastname", "Last Name", 50, required=True),
        FieldDef("fullname", "Full Name", FieldType.TEXT, max_length=160, read_only=True),
        _text("jobtitle", "Job Title", 100),
        _email("emailaddress1"),
        _phone("telephone1", "Business Phone"),
        _phone("mobilephone", "Mobile Phone"),
        _lookup("parentcustomerid", "Company Name", "account", "contact"),
        FieldDef("birthdate", "Birthday", FieldType.DATE),
        _pick("gendercode", "Gender", (PicklistOption(1, "Male"), PicklistOption(2, "Female"))),
        *_address1(),
        _pick("statecode", "Status", _STATE_ACTIVE),
        _memo("description", "Description"),
    ),
)

LEAD = EntityDef(
    name="lead",
    label="Lead",
    plural_label="Leads",
    primary_key="leadid",
    primary_name="fullname",
    entity_set="leads",
    latitude_field="address1_latitude",
    longitude_field="address1_longitude",
    list_columns=("fullname", "companyname", "telephone1", "emailaddress1"),
    fields=(
        _key("leadid"),
        _text("subject", "Topic", 300),
        _text("firstname", "First Name", 50),
        _text("lastname", "Last Name", 50, required=True),
        FieldDef("fullname", "Name", FieldType.TEXT, max_length=160, read_only=True),
        _text("companyname", "Company Name", 100),
        _text("jobtitle", "Job Title", 100),
        _email("emailaddress1"),
        _phone("telephone1", "Business Phone"),
        _phone("mobilephone", "Mobile Phone"),
        FieldDef("websiteurl", "Website", FieldType.URL, max_length=200),
        _pick("leadsourcecode", "Lead Source", _LEAD_SOURCE),
        _pick("leadqualitycode", "Rating", _RATING),
        _pick("industrycode", "Industry", _INDUSTRY),
        _money("revenue", "Annual Revenue"),
        _int("numberofemployees", "No. of Employees", 0, 1_000_000_000),
        _lookup("parentaccountid", "Parent Account for lead", "account"),
        *_address1(),
        _pick(
            "statecode",
            "Status",
            (
                PicklistOption(0, "Open"),
                PicklistOption(1, "Qualified"),
                PicklistOption(2, "Disqualified"),
            ),
        ),
        _memo("description", "Description"),
    ),
)

OPPORTUNITY = EntityDef(
    name="opportunity",
    label="Opportunity",
    plural_label="Opportunities",
    primary_key="opportunityid",
    primary_name="name",
    entity_set="opportunities",
    list_columns=("name", "estimatedvalue", "estimatedclosedate", "closeprobability"),
    fields=(
        _key("opportunityid"),
        _text("name", "Topic", 300, required=True),
        _lookup("customerid", "Potential Customer", "account", "contact"),
        _lookup("parentaccountid", "Account", "account"),
        _lookup("parentcontactid", "Contact", "contact"),
        _money("estimatedvalue", "Est. Revenue"),
        FieldDef("estimatedclosedate", "Est. Close Date", FieldType.DATE),
        _int("closeprobability", "Probability", 0, 100),
        _pick("opportunityratingcode", "Rating", _RATING),
        _pick(
            "salesstagecode",
            "Sales Stage",
            (
                PicklistOption(0, "Qualify"),
                PicklistOption(1, "Develop"),
                PicklistOption(2, "Propose"),
                PicklistOption(3, "Close"),
            ),
        ),
        _pick(
            "statecode",
            "Status",
            (PicklistOption(0, "Open"), PicklistOption(1, "Won"), PicklistOption(2, "Lost")),
        ),
        _memo("description", "Description"),
    ),
)

APPOINTMENT = EntityDef(
    name="appointment",
    label="Appointment",
    plural_label="Appointments",
    primary_key="activityid",
    primary_name="subject",
    entity_set="appointments",
    list_columns=("subject", "scheduledstart", "location"),
    fields=(
        _key("activityid"),
        _text("subject", "Subject", 200, required=True),
        FieldDef("scheduledstart", "Start Time", FieldType.DATETIME),
        FieldDef("scheduledend", "End Time", FieldType.DATETIME),
        FieldDef("isalldayevent", "All Day Event", FieldType.BOOLEAN),
        _text("location", "Location", 200),
        _lookup("regardingobjectid", "Regarding", *_REGARDING_TARGETS),
        _pick("prioritycode", "Priority", _PRIORITY),
        _pick("statecode", "Status", _STATE_APPOINTMENT),
        _memo("description", "Description", 100_000),
    ),
)

TASK = EntityDef(
    name="task",
    label="Task",
    plural_label="Tasks",
    primary_key="activityid",
    primary_name="subject",
    entity_set="tasks",
    list_columns=("subject", "scheduledend", "prioritycode"),
    fields=(
        _key("activityid"),
        _text("subject", "Subject", 200, required=True),
        FieldDef("scheduledend", "Due", FieldType.DATETIME),
        _int("percentcomplete", "% Complete", 0, 100),
        _int("actualdurationminutes", "Duration", 0, 2_147_483_647),
        _lookup("regardingobjectid", "Regarding", *_REGARDING_TARGETS),
        _pick("prioritycode", "Priority", _PRIORITY),
        _pick("statecode", "Status", _STATE_ACTIVITY),
        _memo("description", "Description", 100_000),
    ),
)

PHONECALL = EntityDef(
    name="phonecall",
    label="Phone Call",
    plural_label="Phone Calls",
    primary_key="activityid",
    primary_name="subject",
    entity_set="phonecalls",
    list_columns=("subject", "phonenumber", "scheduledend"),
    fields=(
        _key("activityid"),
        _text("subject", "Subject", 200, required=True),
        FieldDef("phonenumber", "Phone Number", FieldType.PHONE, max_length=200),
        FieldDef("directioncode", "Outgoing", FieldType.BOOLEAN),
        FieldDef("scheduledend", "Due", FieldType.DATETIME),
        _int("actualdurationminutes", "Duration", 0, 2_147_483_647),
        _lookup("regardingobjectid", "Regarding", *_REGARDING_TARGETS),
        _pick("prioritycode", "Priority", _PRIORITY),
        _pick("statecode", "Status", _STATE_ACTIVITY),
        _memo("description", "Description", 100_000),
    ),
)

EMAIL = EntityDef(
    name="email",
    label="Email",
    plural_label="Email Messages",
    primary_key="activityid",
    primary_name="subject",
    entity_set="emails",
    list_columns=("subject", "sender", "torecipients"),
    fields=(
        _key("activityid"),
        _text("subject", "Subject", 200, required=True),
        _text("sender", "From", 250),
        _text("torecipients", "To", 500),
        FieldDef("directioncode", "Direction", FieldType.BOOLEAN),
        FieldDef("scheduledend", "Due", FieldType.DATETIME),
        _lookup("regardingobjectid", "Regarding", *_REGARDING_TARGETS),
        _pick("prioritycode", "Priority", _PRIORITY),
        _pick("statecode", "Status", _STATE_ACTIVITY),
        _memo("description", "Description", 1_048_576),
    ),
)

ANNOTATION = EntityDef(
    name="annotation",
    label="Note",
    plural_label="Notes",
    primary_key="annotationid",
    primary_name="subject",
    entity_set="annotations",
    list_columns=("subject", "notetext"),
    fields=(
        _key("annotationid"),
        _text("subject", "Title", 500),
        _memo("notetext", "Description", 100_000),
        _lookup(
            "objectid",
            "Regarding",
            "account",
            "contact",
            "lead",
            "opportunity",
            "appointment",
            "task",
            "phonecall",
            "email",
        ),
        _text("filename", "File Name", 255),
        FieldDef("isdocument", "Is Document", FieldType.BOOLEAN),
    ),
)

STANDARD_ENTITIES: tuple[EntityDef, ...] = (
    ACCOUNT,
    CONTACT,
    LEAD,
    OPPORTUNITY,
    APPOINTMENT,
    TASK,
    PHONECALL,
    EMAIL,
    ANNOTATION,
)

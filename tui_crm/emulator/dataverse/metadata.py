"""The tables the emulator serves, and their EntityDefinitions in Dataverse's JSON shape.

One compact declaration per column is expanded into the attribute metadata a
real environment returns (AttributeType, AttributeTypeName, RequiredLevel,
MaxLength, Targets, OptionSet behind the typed casts), so a connector written
against this output reads a real org the same way. Only the standard columns a
field client touches are declared; real tables carry many more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

LANGUAGE = 1033

_TYPE_NAMES = {
    "Boolean": "BooleanType",
    "Customer": "CustomerType",
    "DateTime": "DateTimeType",
    "Decimal": "DecimalType",
    "Double": "DoubleType",
    "Integer": "IntegerType",
    "Lookup": "LookupType",
    "Memo": "MemoType",
    "Money": "MoneyType",
    "Owner": "OwnerType",
    "Picklist": "PicklistType",
    "State": "StateType",
    "Status": "StatusType",
    "String": "StringType",
    "Uniqueidentifier": "UniqueidentifierType",
    "BigInt": "BigIntType",
    "EntityName": "EntityNameType",
}

_ODATA_TYPES = {
    "Boolean": "BooleanAttributeMetadata",
    "Customer": "LookupAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Double": "DoubleAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "Owner": "LookupAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "String": "StringAttributeMetadata",
    "Uniqueidentifier": "UniqueidentifierAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata",
    "EntityName": "EntityNameAttributeMetadata",
}

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
OPTION_TYPES = frozenset({"Picklist", "State", "Status"})


def metadata_id(*parts: str) -> str:
    """Stable ids, so two emulator runs (and a restarted one) describe the same schema."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "tui-crm-emulator:" + "/".join(parts)))


def label(text: str, *parts: str) -> JsonObject:
    localized = {
        "Label": text,
        "LanguageCode": LANGUAGE,
        "IsManaged": True,
        "MetadataId": metadata_id("label", *parts),
        "HasChanged": None,
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": dict(localized)}


@dataclass(frozen=True)
class Attr:
    """One column. `kind` is the AttributeType name; the rest only where it applies."""

    name: str
    kind: str
    display: str
    required: str = "None"
    max_length: int | None = None
    options: tuple[tuple[int, str], ...] = ()
    targets: tuple[str, ...] = ()
    fmt: str | None = None
    create: bool = True
    update: bool = True
    min_value: float | None = None
    max_value: float | None = None
    precision: int | None = None
    schema: str | None = None

    @property
    def is_lookup(self) -> bool:
        return self.kind in LOOKUP_TYPES

    @property
    def wire_name(self) -> str:
        """Lookups travel as `_x_value`; every other column under its logical name."""
        return f"_{self.name}_value" if self.is_lookup else self.name

    @property
    def schema_name(self) -> str:
        if self.schema:
            return self.schema
        return "".join(part[:1].upper() + part[1:] for part in self.name.split("_"))


@dataclass(frozen=True)
class Table:
    """One entity: names as Dataverse spells them, and its columns."""

    logical: str
    schema: str
    entity_set: str
    display: str
    display_plural: str
    primary_id: str
    primary_name: str
    attrs: tuple[Attr, ...]
    object_type_code: int
    is_activity: bool = False
    # Navigation property name per (lookup column, target table), for @odata.bind.
    nav_names: dict[tuple[str, str], str] = field(default_factory=dict)

    def attr(self, name: str) -> Attr | None:
        return self._by_name().get(name)

    def _by_name(self) -> dict[str, Attr]:
        cached: dict[str, Attr] | None = self.__dict__.get("_attr_index")
        if cached is None:
            cached = {a.name: a for a in self.attrs}
            object.__setattr__(self, "_attr_index", cached)
        return cached

    def wire_attrs(self) -> dict[str, Attr]:
        """Columns by the name they carry in JSON bodies (`_x_value` for lookups)."""
        cached: dict[str, Attr] | None = self.__dict__.get("_wire_index")
        if cached is None:
            cached = {a.wire_name: a for a in self.attrs}
            object.__setattr__(self, "_wire_index", cached)
        return cached

    def nav_property(self, attr: Attr, target: str) -> str:
        """The single-valued navigation property a client binds a lookup through."""
        return self.nav_names.get((attr.name, target), _default_nav(self, attr, target))

    def navigation(self) -> dict[str, tuple[Attr, tuple[str, ...]]]:
        """Navigation property name -> (lookup column, the tables it may point at).

        Usually one table per property; an owner's single `ownerid` takes
        systemusers and teams alike.
        """
        cached: dict[str, tuple[Attr, tuple[str, ...]]] | None = self.__dict__.get("_nav_index")
        if cached is None:
            cached = {}
            for attr in self.attrs:
                if attr.is_lookup and attr.create | attr.update:
                    for target in attr.targets:
                        nav = self.nav_property(attr, target)
                        _, known = cached.get(nav, (attr, ()))
                        cached[nav] = (attr, (*known, target))
            object.__setattr__(self, "_nav_index", cached)
        return cached


def _default_nav(table: Table, attr: Attr, target: str) -> str:
    """Dataverse's naming: plain for single-target lookups, suffixed for polymorphic ones."""
    if attr.kind == "Owner":
        return attr.name
    if len(attr.targets) == 1:
        return attr.name
    if attr.name == "regardingobjectid":
        return f"regardingobjectid_{target}_{table.logical}"
    return f"{attr.name}_{target}"


# --- option sets -------------------------------------------------------------

STATE_ACTIVE = ((0, "Active"), (1, "Inactive"))
STATUS_ACTIVE = ((1, "Active"), (2, "Inactive"))
ACTIVITY_STATE = ((0, "Open"), (1, "Completed"), (2, "Canceled"))
PRIORITY = ((0, "Low"), (1, "Normal"), (2, "High"))
INDUSTRY = (
    (1, "Accounting"),
    (2, "Agriculture and Non-petrol Natural Resource Extraction"),
    (3, "Broadcasting Printing and Publishing"),
    (4, "Brokers"),
    (5, "Building Supply Retail"),
    (6, "Business Services"),
    (7, "Consulting"),
    (8, "Consumer Services"),
    (9, "Design, Direction and Creative Management"),
    (10, "Distributors, Dispatchers and Processors"),
)
CUSTOMER_TYPE = ((1, "Competitor"), (2, "Consultant"), (3, "Customer"), (4, "Investor"))


def _system(owner_targets: tuple[str, ...] = ("systemuser", "team")) -> tuple[Attr, ...]:
    """Columns every user-owned table has; the server sets them, clients only read them."""
    return (
        Attr("ownerid", "Owner", "Owner", required="SystemRequired", targets=owner_targets),
        Attr("createdon", "DateTime", "Created On", fmt="DateAndTime", create=False, update=False),
        Attr(
            "modifiedon", "DateTime", "Modified On", fmt="DateAndTime", create=False, update=False
        ),
        Attr(
            "createdby", "Lookup", "Created By", targets=("systemuser",), create=False, update=False
        ),
        Attr(
            "modifiedby",
            "Lookup",
            "Modified By",
            targets=("systemuser",),
            create=False,
            update=False,
        ),
        Attr("versionnumber", "BigInt", "Version Number", create=False, update=False),
    )


def _address(prefix: str = "address1") -> tuple[Attr, ...]:
    return (
        Attr(f"{prefix}_line1", "String", "Street 1", max_length=250),
        Attr(f"{prefix}_line2", "String", "Street 2", max_length=250),
        Attr(f"{prefix}_city", "String", "City", max_length=80),
        Attr(f"{prefix}_stateorprovince", "String", "State/Province", max_length=50),
        Attr(f"{prefix}_postalcode", "String", "ZIP/Postal Code", max_length=20),
        Attr(f"{prefix}_country", "String", "Country/Region", max_length=80),
        Attr(f"{prefix}_composite", "Memo", "Address", max_length=1000, create=False, update=False),
        Attr(
            f"{prefix}_latitude",
            "Double",
            "Latitude",
            min_value=-90,
            max_value=90,
            precision=5,
        ),
        Attr(
            f"{prefix}_longitude",
            "Double",
            "Longitude",
            min_value=-180,
            max_value=180,
            precision=5,
        ),
    )


def _state(
    state: tuple[tuple[int, str], ...], status: tuple[tuple[int, str], ...]
) -> tuple[Attr, ...]:
    return (
        Attr("statecode", "State", "Status", required="SystemRequired", options=state),
        Attr("statuscode", "Status", "Status Reason", options=status),
    )


_ACTIVITY_STATUS = ((1, "Open"), (2, "Not Started"), (5, "Completed"), (6, "Canceled"))
_REGARDING = ("account", "contact", "lead", "opportunity")


def _activity(
    name: str, extra: tuple[Attr, ...], subject_required: str = "ApplicationRequired"
) -> tuple[Attr, ...]:
    return (
        Attr("activityid", "Uniqueidentifier", name.title(), create=True, update=False),
        Attr("subject", "String", "Subject", required=subject_required, max_length=400),
        Attr("description", "Memo", "Description", max_length=2000),
        Attr("regardingobjectid", "Lookup", "Regarding", targets=_REGARDING),
        Attr("prioritycode", "Picklist", "Priority", options=PRIORITY),
        Attr("scheduledstart", "DateTime", "Start Date", fmt="DateAndTime"),
        Attr("scheduledend", "DateTime", "Due Date", fmt="DateAndTime"),
        *extra,
        *_state(ACTIVITY_STATE, _ACTIVITY_STATUS),
        *_system(),
    )


TABLES: tuple[Table, ...] = (
    Table(
        logical="account",
        schema="Account",
        entity_set="accounts",
        display="Account",
        display_plural="Accounts",
        primary_id="accountid",
        primary_name="name",
        object_type_code=1,
        attrs=(
            Attr("accountid", "Uniqueidentifier", "Account", update=False),
            Attr("name", "String", "Account Name", required="ApplicationRequired", max_length=160),
            Attr("accountnumber", "String", "Account Number", max_length=20),
            Attr("telephone1", "String", "Main Phone", max_length=50, fmt="Phone"),
            Attr("telephone2", "String", "Other Phone", max_length=50, fmt="Phone"),
            Attr("fax", "String", "Fax", max_length=50, fmt="Phone"),
            Attr("emailaddress1", "String", "Email", max_length=100, fmt="Email"),
            Attr("websiteurl", "String", "Website", max_length=200, fmt="Url"),
            *_address(),
            Attr("description", "Memo", "Description", max_length=2000),
            Attr("industrycode", "Picklist", "Industry", options=INDUSTRY),
            Attr("customertypecode", "Picklist", "Relationship Type", options=CUSTOMER_TYPE),
            Attr(
                "revenue",
                "Money",
                "Annual Revenue",
                min_value=0,
                max_value=100000000000000,
                precision=2,
            ),
            Attr(
                "numberofemployees",
                "Integer",
                "Number of Employees",
                min_value=0,
                max_value=1000000000,
            ),
            Attr("creditonhold", "Boolean", "Credit Hold", options=((0, "No"), (1, "Yes"))),
            Attr("primarycontactid", "Lookup", "Primary Contact", targets=("contact",)),
            Attr("parentaccountid", "Lookup", "Parent Account", targets=("account",)),
            *_state(STATE_ACTIVE, STATUS_ACTIVE),
            *_system(),
        ),
    ),
    Table(
        logical="contact",
        schema="Contact",
        entity_set="contacts",
        display="Contact",
        display_plural="Contacts",
        primary_id="contactid",
        primary_name="fullname",
        object_type_code=2,
        attrs=(
            Attr("contactid", "Uniqueidentifier", "Contact", update=False),
            Attr("firstname", "String", "First Name", max_length=50),
            Attr("lastname", "String", "Last Name", required="ApplicationRequired", max_length=50),
            Attr("fullname", "String", "Full Name", max_length=160, create=False, update=False),
            Attr("jobtitle", "String", "Job Title", max_length=100),
            Attr("parentcustomerid", "Customer", "Company Name", targets=("account", "contact")),
            Attr("emailaddress1", "String", "Email", max_length=100, fmt="Email"),
            Attr("telephone1", "String", "Business Phone", max_length=50, fmt="Phone"),
            Attr("mobilephone", "String", "Mobile Phone", max_length=50, fmt="Phone"),
            *_address(),
            Attr("birthdate", "DateTime", "Birthday", fmt="DateOnly"),
            Attr("gendercode", "Picklist", "Gender", options=((1, "Male"), (2, "Female"))),
            Attr("description", "Memo", "Description", max_length=2000),
            Attr(
                "donotemail",
                "Boolean",
                "Do not allow Emails",
                options=((0, "Allow"), (1, "Do Not Allow")),
            ),
            *_state(STATE_ACTIVE, STATUS_ACTIVE),
            *_system(),
        ),
    ),
    Table(
        logical="lead",
        schema="Lead",
        entity_set="leads",
        display="Lead",
        display_plural="Leads",
        primary_id="leadid",
        primary_name="fullname",
        object_type_code=4,
        attrs=(
            Attr("leadid", "Uniqueidentifier", "Lead", update=False),
            Attr("subject", "String", "Topic", required="ApplicationRequired", max_length=300),
            Attr("firstname", "String", "First Name", max_length=50),
            Attr("lastname", "String", "Last Name", required="ApplicationRequired", max_length=50),
            Attr("fullname", "String", "Name", max_length=160, create=False, update=False),
            Attr("companyname", "String", "Company Name", max_length=100),
            Attr("emailaddress1", "String", "Email", max_length=100, fmt="Email"),
            Attr("telephone1", "String", "Business Phone", max_length=50, fmt="Phone"),
            Attr(
                "leadsourcecode",
                "Picklist",
                "Lead Source",
                options=(
                    (1, "Advertisement"),
                    (2, "Employee Referral"),
                    (3, "External Referral"),
                    (4, "Partner"),
                    (8, "Web"),
                    (10, "Other"),
                ),
            ),
            Attr(
                "estimatedvalue",
                "Money",
                "Est. Value",
                min_value=0,
                max_value=100000000000000,
                precision=2,
            ),
            Attr("parentaccountid", "Lookup", "Existing Account", targets=("account",)),
            *_address(),
            Attr("description", "Memo", "Description", max_length=2000),
            *_state(
                ((0, "Open"), (1, "Qualified"), (2, "Disqualified")),
                ((1, "New"), (2, "Contacted"), (3, "Qualified"), (4, "Lost")),
            ),
            *_system(),
        ),
    ),
    Table(
        logical="opportunity",
        schema="Opportunity",
        entity_set="opportunities",
        display="Opportunity",
        display_plural="Opportunities",
        primary_id="opportunityid",
        primary_name="name",
        object_type_code=3,
        attrs=(
            Attr("opportunityid", "Uniqueidentifier", "Opportunity", update=False),
            Attr("name", "String", "Topic", required="ApplicationRequired", max_length=300),
            Attr("customerid", "Customer", "Potential Customer", targets=("account", "contact")),
            Attr("parentaccountid", "Lookup", "Account", targets=("account",)),
            Attr("parentcontactid", "Lookup", "Contact", targets=("contact",)),
            Attr(
                "estimatedvalue",
                "Money",
                "Est. Revenue",
                min_value=0,
                max_value=100000000000000,
                precision=2,
            ),
            Attr("estimatedclosedate", "DateTime", "Est. Close Date", fmt="DateOnly"),
            Attr("closeprobability", "Integer", "Probability", min_value=0, max_value=100),
            Attr(
                "opportunityratingcode",
                "Picklist",
                "Rating",
                options=((1, "Hot"), (2, "Warm"), (3, "Cold")),
            ),
            Attr("description", "Memo", "Description", max_length=2000),
            *_state(
                ((0, "Open"), (1, "Won"), (2, "Lost")),
                ((1, "In Progress"), (2, "On Hold"), (3, "Won"), (4, "Canceled")),
            ),
            *_system(),
        ),
    ),
    Table(
        logical="appointment",
        schema="Appointment",
        entity_set="appointments",
        display="Appointment",
        display_plural="Appointments",
        primary_id="activityid",
        primary_name="subject",
        object_type_code=4201,
        is_activity=True,
        attrs=_activity(
            "appointment",
            (
                Attr("location", "String", "Location", max_length=200),
                Attr("isalldayevent", "Boolean", "All Day Event", options=((0, "No"), (1, "Yes"))),
            ),
        ),
    ),
    Table(
        logical="task",
        schema="Task",
        entity_set="tasks",
        display="Task",
        display_plural="Tasks",
        primary_id="activityid",
        primary_name="subject",
        object_type_code=4212,
        is_activity=True,
        attrs=_activity(
            "task",
            (Attr("percentcomplete", "Integer", "Percent Complete", min_value=0, max_value=100),),
        ),
    ),
    Table(
        logical="phonecall",
        schema="PhoneCall",
        entity_set="phonecalls",
        display="Phone Call",
        display_plural="Phone Calls",
        primary_id="activityid",
        primary_name="subject",
        object_type_code=4210,
        is_activity=True,
        attrs=_activity(
            "phonecall",
            (
                Attr("phonenumber", "String", "Phone Number", max_length=200, fmt="Phone"),
                Attr(
                    "directioncode",
                    "Boolean",
                    "Direction",
                    options=((0, "Incoming"), (1, "Outgoing")),
                ),
            ),
        ),
    ),
    Table(
        logical="email",
        schema="Email",
        entity_set="emails",
        display="Email",
        display_plural="Email Messages",
        primary_id="activityid",
        primary_name="subject",
        object_type_code=4202,
        is_activity=True,
        attrs=_activity(
            "email",
            (
                Attr("messageid", "String", "Message ID", max_length=320),
                Attr("sender", "String", "From", max_length=250),
                Attr("torecipients", "String", "To Recipients", max_length=500),
                Attr(
                    "directioncode",
                    "Boolean",
                    "Direction",
                    options=((0, "Incoming"), (1, "Outgoing")),
                ),
            ),
            subject_required="None",
        ),
    ),
    Table(
        logical="annotation",
        schema="Annotation",
        entity_set="annotations",
        display="Note",
        display_plural="Notes",
        primary_id="annotationid",
        primary_name="subject",
        object_type_code=5,
        attrs=(
            Attr("annotationid", "Uniqueidentifier", "Note", update=False),
            Attr("subject", "String", "Title", max_length=500),
            Attr("notetext", "Memo", "Description", max_length=100000),
            Attr("isdocument", "Boolean", "Is Document", options=((0, "No"), (1, "Yes"))),
            Attr("filename", "String", "File Name", max_length=255),
            Attr("mimetype", "String", "Mime Type", max_length=256),
            Attr("documentbody", "Memo", "Document", max_length=1073741823),
            Attr("filesize", "Integer", "File Size (Bytes)", create=False, update=False),
            Attr(
                "objectid",
                "Lookup",
                "Regarding",
                targets=(*_REGARDING, "appointment", "task", "phonecall", "email"),
            ),
            *_system(),
        ),
    ),
    Table(
        logical="systemuser",
        schema="SystemUser",
        entity_set="systemusers",
        display="User",
        display_plural="Users",
        primary_id="systemuserid",
        primary_name="fullname",
        object_type_code=8,
        attrs=(
            Attr("systemuserid", "Uniqueidentifier", "User", update=False),
            Attr("fullname", "String", "Full Name", max_length=200, create=False, update=False),
            Attr("firstname", "String", "First Name", max_length=256),
            Attr("lastname", "String", "Last Name", max_length=256),
            Attr("internalemailaddress", "String", "Primary Email", max_length=100, fmt="Email"),
            Attr("domainname", "String", "User Name", max_length=1024),
            Attr(
                "createdon", "DateTime", "Created On", fmt="DateAndTime", create=False, update=False
            ),
            Attr(
                "modifiedon",
                "DateTime",
                "Modified On",
                fmt="DateAndTime",
                create=False,
                update=False,
            ),
            Attr("versionnumber", "BigInt", "Version Number", create=False, update=False),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.logical: t for t in TABLES}
TABLES_BY_SET: dict[str, Table] = {t.entity_set: t for t in TABLES}


# --- JSON rendering ------------------------------------------------------------


def attribute_json(table: Table, attr: Attr, *, with_options: bool = False) -> JsonObject:
    """One attribute as `EntityDefinitions(...)/Attributes` returns it."""
    body: JsonObject = {
        "@odata.type": "#Microsoft.Dynamics.CRM." + _ODATA_TYPES[attr.kind],
        "MetadataId": metadata_id(table.logical, attr.name),
        "HasChanged": None,
        "AttributeOf": None,
        "AttributeType": attr.kind,
        "AttributeTypeName": {"Value": _TYPE_NAMES[attr.kind]},
        "ColumnNumber": table.attrs.index(attr) + 1,
        "EntityLogicalName": table.logical,
        "IsCustomAttribute": False,
        "IsPrimaryId": attr.name == table.primary_id,
        "IsPrimaryName": attr.name == table.primary_name,
        "IsValidForCreate": attr.create,
        "IsValidForRead": True,
        "IsValidForUpdate": attr.update,
        "IsLogical": False,
        "LogicalName": attr.name,
        "SchemaName": attr.schema_name,
        "DisplayName": label(attr.display, table.logical, attr.name),
        "Description": label(attr.display, table.logical, attr.name, "description"),
        "RequiredLevel": {
            "Value": attr.required,
            "CanBeChanged": attr.required != "SystemRequired",
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
    }
    if attr.kind in ("String", "Memo"):
        body["MaxLength"] = attr.max_length
        body["Format"] = attr.fmt or ("TextArea" if attr.kind == "Memo" else "Text")
        if attr.kind == "String":
            body["FormatName"] = {"Value": attr.fmt or "Text"}
    if attr.kind == "DateTime":
        date_only = attr.fmt == "DateOnly"
        body["Format"] = "DateOnly" if date_only else "DateAndTime"
        body["DateTimeBehavior"] = {"Value": "DateOnly" if date_only else "UserLocal"}
    if attr.kind in ("Integer", "Double", "Decimal", "Money", "BigInt"):
        body["MinValue"] = attr.min_value
        body["MaxValue"] = attr.max_value
        if attr.kind in ("Double", "Decimal", "Money"):
            body["Precision"] = attr.precision
    if attr.is_lookup:
        body["Targets"] = list(attr.targets)
    if with_options and (attr.kind in OPTION_TYPES or attr.kind == "Boolean"):
        body["OptionSet"] = option_set_json(table, attr)
        body["GlobalOptionSet"] = None
    return body


def option_set_json(table: Table, attr: Attr) -> JsonObject:
    """OptionSet as it is expanded on the typed attribute casts."""

    def option(value: int, text: str) -> JsonObject:
        return {
            "Value": value,
            "Color": None,
            "IsManaged": True,
            "ExternalValue": None,
            "MetadataId": None,
            "HasChanged": None,
            "Label": label(text, table.logical, attr.name, str(value)),
            "Description": label("", table.logical, attr.name, str(value), "d"),
        }

    base: JsonObject = {
        "MetadataId": metadata_id(table.logical, attr.name, "optionset"),
        "HasChanged": None,
        "IsCustomOptionSet": False,
        "IsGlobal": False,
        "IsManaged": True,
        "Name": f"{table.logical}_{attr.name}",
        "DisplayName": label(attr.display, table.logical, attr.name, "optionset"),
    }
    if attr.kind == "Boolean":
        (false_value, false_text), (true_value, true_text) = attr.options or ((0, "No"), (1, "Yes"))
        base["OptionSetType"] = "Boolean"
        base["TrueOption"] = option(true_value, true_text)
        base["FalseOption"] = option(false_value, false_text)
        return base
    base["OptionSetType"] = attr.kind
    base["Options"] = [option(value, text) for value, text in attr.options]
    return base


def entity_json(table: Table) -> JsonObject:
    """One EntityDefinitions entry (the commonly read properties of the real one)."""
    return {
        "MetadataId": metadata_id(table.logical),
        "HasChanged": None,
        "LogicalName": table.logical,
        "SchemaName": table.schema,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": table.schema + "s",
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": "UserOwned" if table.logical != "systemuser" else "BusinessOwned",
        "IsActivity": table.is_activity,
        "IsCustomEntity": False,
        "IsManaged": True,
        "IsIntersect": False,
        "IsPrivate": False,
        "IsLogicalEntity": False,
        "IsValidForAdvancedFind": True,
        "ChangeTrackingEnabled": True,
        "IsOptimisticConcurrencyEnabled": True,
        "CanChangeTrackingBeEnabled": {
            "Value": True,
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canchangetrackingbeenabled",
        },
        "HasNotes": not table.is_activity and table.logical != "annotation",
        "HasActivities": not table.is_activity and table.logical != "annotation",
        "TableType": "Standard",
        "DisplayName": label(table.display, table.logical),
        "DisplayCollectionName": label(table.display_plural, table.logical, "plural"),
        "Description": label(table.display, table.logical, "description"),
    }


def many_to_one_json(table: Table) -> list[JsonObject]:
    """The relationships behind each lookup: how a client learns navigation property names."""
    relationships: list[JsonObject] = []
    for attr in table.attrs:
        if not attr.is_lookup:
            continue
        for target in attr.targets:
            if target not in TABLES_BY_NAME:
                continue
            referenced = TABLES_BY_NAME[target]
            relationships.append(
                {
                    "MetadataId": metadata_id(table.logical, attr.name, target, "rel"),
                    "SchemaName": f"{table.logical}_{attr.name}_{target}",
                    "RelationshipType": "OneToManyRelationship",
                    "IsCustomRelationship": False,
                    "ReferencedAttribute": referenced.primary_id,
                    "ReferencedEntity": target,
                    "ReferencingAttribute": attr.name,
                    "ReferencingEntity": table.logical,
                    "ReferencedEntityNavigationPropertyName": (
                        f"{table.logical}_{attr.name}_{target}"
                    ),
                    "ReferencingEntityNavigationPropertyName": table.nav_property(attr, target),
                    "IsHierarchical": False,
                    "RelationshipBehavior": 1,
                    "CascadeConfiguration": {
                        "Assign": "NoCascade",
                        "Delete": "RemoveLink",
                        "Merge": "NoCascade",
                        "Reparent": "NoCascade",
                        "Share": "NoCascade",
                        "Unshare": "NoCascade",
                    },
                }
            )
    return relationships


def option_label(attr: Attr, value: object) -> str | None:
    """The user-language label of a picklist/boolean value (the FormattedValue annotation)."""
    if attr.kind == "Boolean":
        options = dict(attr.options or ((0, "No"), (1, "Yes")))
        return options.get(1 if value else 0)
    for option_value, text in attr.options:
        if option_value == value:
            return text
    return None

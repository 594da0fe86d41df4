"""Identifier systems, code systems and extension URLs used by CountyHealth.

Every URL a resource carries in ``Identifier.system``, ``Coding.system`` or ``Extension.url``
is named here once, with what it means; docs/identifiers.md describes them for integrators.
Systems of the project live under :data:`BASE` (``NamingSystem/…`` for identifiers,
``CodeSystem/…`` for codes, ``StructureDefinition/…`` for extensions). External systems use
their official URIs (https://hl7.org/fhir/R4/terminologies-systems.html).
"""

from __future__ import annotations

#: Canonical base URL of the project's own definitions.
BASE = "https://countyhealth.example.org/fhir"

# --------------------------------------------------------------------------- identifiers

ID_CARD = "urn:oid:2.16.156.10011.1.3"
"""居民身份证号码 (GB 11643): the OID the Chinese health data standards give the resident
identity card number. Values are 18 characters; records from old systems may still carry the
15-digit form of GB 11643-1989 under the same system."""

PASSPORT = f"{BASE}/NamingSystem/passport"
"""Passport numbers of foreign residents. The issuing country is the ISO 3166 alpha-3 code
appended as a path segment (``…/passport/RUS``), see :func:`passport_system`."""

RESIDENCE_PERMIT = f"{BASE}/NamingSystem/hk-macao-taiwan-residence-permit"
"""港澳台居民居住证 (since 2018): 18 characters following GB 11643 with the address code 810000
(Hong Kong), 820000 (Macao) or 830000 (Taiwan)."""

HK_MACAO_TRAVEL_PERMIT = f"{BASE}/NamingSystem/hk-macao-travel-permit"
"""港澳居民来往内地通行证 (home-return permit): ``H`` or ``M`` and 8 digits (10 on older permits,
with the issue count)."""

TAIWAN_TRAVEL_PERMIT = f"{BASE}/NamingSystem/taiwan-travel-permit"
"""台湾居民来往大陆通行证 (台胞证): 8 digits (10 on older permits, with the issue count)."""

FOREIGN_PERMANENT_RESIDENT = f"{BASE}/NamingSystem/foreign-permanent-resident-id"
"""外国人永久居留身份证: 18 characters starting with 9 and ending in a MOD 11-2 check character
(cards from 2023-12-01), or 3 letters and 12 digits (earlier cards)."""

E_HEALTH_CARD = f"{BASE}/NamingSystem/e-health-card"
"""电子健康卡 (resident e-health card) id: an opaque hexadecimal string resolved online; the QR
text shown to scanners is derived from it and is never parsed (DOMAIN §2c)."""

MEDICAL_RECORD_NUMBER = f"{BASE}/NamingSystem/mrn"
"""Medical record numbers (病案号 / 门诊号). Each institution numbers its own patients: the
issuing Organization id is appended as a path segment (``…/mrn/org-thc-03``), see
:func:`mrn_system`."""

QUEUE_NUMBER = f"{BASE}/NamingSystem/queue-number"
"""序号: the number of a slot within its service day (``Slot.identifier``), printed on the
booking and called on the waiting-room screen (``Encounter.identifier`` of the queue entry)."""

MOBILE_PHONE = "urn:ietf:rfc:3966"
"""Telephone numbers as identifiers (``tel:`` URIs). In ``Patient.telecom`` phones use
``system = phone`` and carry the bare 11-digit number."""

INSURANCE_PERSON_NUMBER = f"{BASE}/NamingSystem/medical-insurance-person"
"""医保人员编号: the person number of the basic medical insurance (职工医保 or 城乡居民医保),
issued by the 统筹区; carried in ``Coverage.subscriberId`` and ``Coverage.identifier``."""

COMMERCIAL_POLICY = f"{BASE}/NamingSystem/commercial-insurance-policy"
"""Policy numbers of commercial health insurance (商业健康保险), including the international
insurers that settle directly for foreign residents."""

PRACTITIONER_LICENCE = f"{BASE}/NamingSystem/practitioner-licence"
"""执业证书编码: practising-certificate number of a physician, nurse or village doctor."""

FACILITY_LICENCE = f"{BASE}/NamingSystem/facility-licence"
"""医疗机构执业许可证登记号: licence number of a medical institution."""

HOUSEHOLD = f"{BASE}/NamingSystem/household"
"""户号: the household registration number of a household (``Group.identifier``)."""

ADMINISTRATIVE_DIVISION = f"{BASE}/NamingSystem/administrative-division"
"""GB/T 2260 administrative division codes (county level, six digits) and their township-level
extensions (nine digits), identifying a county, township or village Location."""

DICOM_UID = "urn:dicom:uid"
"""DICOM Study Instance UIDs in ``ImagingStudy.identifier`` (value ``urn:oid:2.25.…``)."""

# --------------------------------------------------------------------------- external code systems

LOINC = "http://loinc.org"
"""LOINC: laboratory items, vital signs and report codes."""

SNOMED_CT = "http://snomed.info/sct"
"""SNOMED CT: clinical findings, procedures and body sites where the concept is obvious."""

ICD_10 = "http://hl7.org/fhir/sid/icd-10"
"""WHO ICD-10: diagnoses of Conditions and encounter reasons."""

UCUM = "http://unitsofmeasure.org"
"""UCUM: units of every Quantity."""

ATC = "http://www.whocc.no/atc"
"""WHO ATC classification: the active ingredient of medications."""

CVX = "http://hl7.org/fhir/sid/cvx"
"""CDC CVX vaccine codes, given beside :data:`NIP_VACCINE` where the product maps exactly."""

DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
"""DICOM controlled terminology: imaging modalities (CT, DX, US, MR)."""

ISO_3166 = "urn:iso:std:iso:3166"
"""ISO 3166-1 country codes (nationality of foreign residents)."""

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
"""HL7 v3 ActCode: ``Encounter.class`` (AMB, EMER, IMP, HH)."""

V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
"""HL7 v3 RoleCode: kinds of Location and family relationships of RelatedPerson."""

V3_MARITAL_STATUS = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
"""HL7 v3 MaritalStatus: ``Patient.maritalStatus``."""

V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
"""HL7 v2 table 0203: ``Identifier.type`` (NI national id, PPN passport, MR record number)."""

V3_ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
"""HL7 v3 ActPriority: ``Encounter.priority`` of a queue entry (EM emergency, UR urgent,
R routine)."""

V2_DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
"""HL7 v2 table 0074: ``DiagnosticReport.category`` (LAB, RAD)."""

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
"""FHIR observation categories (vital-signs, laboratory, imaging, exam)."""

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
"""FHIR ``Condition.clinicalStatus`` (active, resolved, …)."""

CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
"""FHIR ``Condition.verificationStatus`` (confirmed, provisional, …)."""

CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
"""FHIR ``Condition.category`` (problem-list-item, encounter-diagnosis)."""

LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
"""FHIR ``Location.physicalType`` (bu building, area, jdn jurisdiction, …)."""

ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
"""FHIR ``Organization.type`` (prov, dept, govt, ins, …), beside :data:`FACILITY_TYPE`."""

PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
"""FHIR practitioner roles (doctor, nurse, pharmacist, ict), beside :data:`CARE_ROLE`."""

COVERAGE_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
"""FHIR ``Coverage.relationship`` (self, child, spouse)."""

ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
"""FHIR ``Encounter.hospitalization.admitSource`` (outp, emd, hosp-trans, …)."""

DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
"""FHIR ``Encounter.hospitalization.dischargeDisposition`` (home, other-hcf, …)."""

DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
"""FHIR ``Encounter.diagnosis.use`` (AD admission, DD discharge, CC chief complaint)."""

# --------------------------------------------------------------------------- project code systems

CUSTODIAN = f"{BASE}/CodeSystem/custodian"
"""``meta.tag`` naming the organisation that recorded a resource (code: the Organization id).
The server sets it on every write by a caller bound to an organisation; consent rules compare
it with the reader's organisation."""

RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
"""FHIR resource type names as codes (``Consent.provision.class``)."""

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
"""Purpose of use; ``BTG`` (break the glass) marks emergency access without consent."""

FACILITY_TYPE = f"{BASE}/CodeSystem/facility-type"
"""Kinds of institutions in a county medical community: general, TCM, children's and
maternal-child hospitals, township health centres, village clinics, family-doctor stations,
the 医共体 itself, CDC, health bureau, 120 centre, 医保 bureau, insurers."""

FACILITY_LEVEL = f"{BASE}/CodeSystem/facility-level"
"""医院等级: 3A (三级甲等), 3B, 2A, 2B, 1 (一级) and primary (基层, unranked)."""

DEPARTMENT = f"{BASE}/CodeSystem/department"
"""诊疗科目 (clinical subjects) after 《医疗机构诊疗科目名录》: department of a HealthcareService
and specialty of a PractitionerRole (e.g. 03.04 心血管内科)."""

PROFESSIONAL_TITLE = f"{BASE}/CodeSystem/professional-title"
"""专业技术职务 after GB/T 8561 (231 主任医师 … 255 护士) plus 乡村医生: the title of a
Practitioner in ``Practitioner.qualification.code``."""

CARE_ROLE = f"{BASE}/CodeSystem/care-role"
"""Roles of the county network not in the FHIR role list: family-doctor, village-doctor,
public-health, dispatcher, team-leader, team-member."""

INSURANCE_TYPE = f"{BASE}/CodeSystem/insurance-type"
"""险种类型 of the national 医保 platform (310 职工基本医疗保险, 390 城乡居民基本医疗保险, …) plus
``commercial`` for commercial health insurance; ``Coverage.type``."""

NIP_VACCINE = f"{BASE}/CodeSystem/nip-vaccine"
"""Vaccines of the national immunisation programme (国家免疫规划, 2021 schedule): HepB, BCG,
IPV, bOPV, DTaP, DT, MMR, JE-L, MPSV-A, MPSV-AC, HepA-L."""

ENCOUNTER_TYPE = f"{BASE}/CodeSystem/encounter-type"
"""Kinds of visit: chronic-follow-up, health-check, child-health, antenatal, postnatal,
delivery, outpatient, fever-clinic, admission, prehospital, emergency, referral-visit."""

LOCATION_KIND = f"{BASE}/CodeSystem/location-kind"
"""Kinds of Location: county, township, village, community, facility, family-doctor-station,
ambulance-station, aed-site, incident-site."""

RECOGNITION_ITEM = f"{BASE}/CodeSystem/recognition-item"
"""Provincial item codes of examinations and tests recognised across institutions (互认
项目), each mapped to LOINC with its reference window; the results domain matches on them."""

RECOGNITION_MARK = f"{BASE}/CodeSystem/recognition-mark"
"""Mutual-recognition marks printed on a report (浙HR for the province); see
:data:`EXT_RECOGNITION_MARK`."""

RETEST_REASON = f"{BASE}/CodeSystem/recognition-retest-reason"
"""The six situations in which a re-test is justified despite a recognisable result
(国卫医发〔2022〕6号; the catalogue's ``retest_reasons``)."""

RESIDENCE_STATUS = f"{BASE}/CodeSystem/residence-status"
"""registered (户籍人口), migrant (流动人口, registered elsewhere in China), foreign (境外人员)."""

GROUP_KIND = f"{BASE}/CodeSystem/group-kind"
"""Kinds of Group: household (户)."""

REFERRAL_DIRECTION = f"{BASE}/CodeSystem/referral-direction"
"""up (上转: village → township → county) and down (下转: back towards primary care)."""

TASK_KIND = f"{BASE}/CodeSystem/task-kind"
"""Kinds of Task: referral (fulfil a referral ServiceRequest), follow-up (a visit the
receiving team owes after a down-referral, due by ``restriction.period.end``) and dispatch
(send an ambulance to an emergency incident)."""

TASK_INPUT = f"{BASE}/CodeSystem/task-input"
"""Names of ``Task.input`` values: ambulance-station, distance-km, response-minutes."""

DEVICE_KIND = f"{BASE}/CodeSystem/device-kind"
"""Kinds of Device: aed (自动体外除颤器)."""

IMAGING_EXAM = f"{BASE}/CodeSystem/imaging-exam"
"""Imaging examinations (chest DR, head CT, abdominal ultrasound, …): ImagingStudy procedure
and imaging DiagnosticReport code beside LOINC."""

DRUG = f"{BASE}/CodeSystem/drug"
"""Drug products of the synthetic formulary (generic name, strength, form), beside their ATC
code."""

BOOKING_CHANNEL = f"{BASE}/CodeSystem/booking-channel"
"""How an Appointment was booked: online (the resident's phone or the provincial portal),
window (at a registration desk), family-doctor (by the resident's family-doctor team) and
referral (by the referring clinician, from the referral share)."""

SLOT_POOL = f"{BASE}/CodeSystem/slot-pool"
"""Shares of the slot pool a Slot is reserved for until shortly before it starts: referral
(上转 from primary care) and family-doctor (booked by the contracted team)."""

QUEUE_PRIORITY = f"{BASE}/CodeSystem/queue-priority"
"""Why a queue entry is called earlier: emergency, referral, aged-80, disability, routine;
each has a sort weight in the pool rules (``scheduling/data/pool_rules.json``)."""

TRIAGE_ITEM = f"{BASE}/CodeSystem/triage-item"
"""Item names of the smart-triage QuestionnaireResponse: symptoms, picks, suggestion,
accepted."""

# --------------------------------------------------------------------------- extensions

GEOLOCATION = "http://hl7.org/fhir/StructureDefinition/geolocation"
"""Official R4 extension: latitude/longitude of an Address."""

LOCATION_BOUNDARY_GEOJSON = "http://hl7.org/fhir/StructureDefinition/location-boundary-geojson"
"""Official R4 extension: the boundary of a Location as a GeoJSON attachment."""

PATIENT_NATIONALITY = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
"""Official R4 extension: nationality (sub-extension ``code``) of a foreign resident."""

EXT_RESIDENCE_STATUS = f"{BASE}/StructureDefinition/residence-status"
"""Patient extension (valueCoding from :data:`RESIDENCE_STATUS`): registered, migrant or
foreign resident."""

EXT_CARE_TEAM_STATION = f"{BASE}/StructureDefinition/care-team-station"
"""CareTeam extension (valueReference to a Location): the family-doctor station (家医驿站) a
family-doctor team works from."""

EXT_RECOGNITION_MARK = f"{BASE}/StructureDefinition/recognition-mark"
"""DiagnosticReport extension (valueCoding from :data:`RECOGNITION_MARK`): the report carries
a mutual-recognition mark and may be reused by other institutions within the item window."""

EXT_RECOGNITION = f"{BASE}/StructureDefinition/recognition"
"""ServiceRequest extension: what the recognition check found for the order and what the
clinician decided (sub-extensions ``item``, ``checked``, ``candidate``, ``outcome``, ``result``,
``reason``, ``note``, ``avoided``; docs/recognition.md)."""

EXT_LONG_PRESCRIPTION = f"{BASE}/StructureDefinition/long-prescription"
"""MedicationRequest extension (valueBoolean): a long prescription (长期处方) under the 2021
rules, supplying more than 4 and at most 12 weeks after assessment and patient confirmation."""

EXT_REFERRAL_DIRECTION = f"{BASE}/StructureDefinition/referral-direction"
"""ServiceRequest extension (valueCoding from :data:`REFERRAL_DIRECTION`): up or down."""

EXT_REFERRAL_ACCEPTED = f"{BASE}/StructureDefinition/referral-accepted"
"""Task extension (valueDateTime) on a referral Task: when the receiving side accepted it
(the start of "time to acceptance" in the referral KPIs)."""

EXT_REFERRAL_ESCALATED = f"{BASE}/StructureDefinition/referral-escalated"
"""Task extension (valueDateTime) on a referral Task: when it was escalated for not being
accepted within the configured time (or at once, for an urgent referral)."""


EXT_SLOT_RELEASE = f"{BASE}/StructureDefinition/slot-release"
"""Slot extension (valueDateTime): when the slot opens for booking (号源放号时间)."""

EXT_SLOT_RESERVATION = f"{BASE}/StructureDefinition/slot-reservation"
"""Slot extension with sub-extensions ``pool`` (valueCode from :data:`SLOT_POOL`) and
``until`` (valueDateTime): the slot is kept for that share until the instant, then joins the
public pool."""

EXT_SLOT_HOLDER = f"{BASE}/StructureDefinition/slot-holder"
"""Slot extension (valueString) on a taken slot: a keyed hash (HMAC-SHA-256 with the server
secret, 16 hex digits) of the Patient id that holds it. It lets a second booking attempt of
the same patient be told apart from someone else's without reading, or naming, the other
patient's Appointment."""

EXT_BOOKING_CHANNEL = f"{BASE}/StructureDefinition/booking-channel"
"""Appointment extension (valueCoding from :data:`BOOKING_CHANNEL`)."""

EXT_RESCHEDULED_FROM = f"{BASE}/StructureDefinition/rescheduled-from"
"""Appointment extension (valueReference to the cancelled Appointment it replaces); the chain
counts the changes the pool rules allow."""

EXT_QUEUE_PRIORITY = f"{BASE}/StructureDefinition/queue-priority"
"""Encounter extension of a queue entry: sub-extensions ``reason`` (valueCoding from
:data:`QUEUE_PRIORITY`) and ``weight`` (valueInteger, higher is called first)."""

TRIAGE_QUESTIONNAIRE = f"{BASE}/Questionnaire/smart-triage"
"""Canonical of the smart-triage (智能导诊) questionnaire; its QuestionnaireResponses record the
symptoms, the suggested departments and the one the resident accepted."""


def passport_system(country_alpha3: str) -> str:
    """The identifier system of passports issued by ``country_alpha3`` (ISO 3166 alpha-3)."""
    return f"{PASSPORT}/{country_alpha3.upper()}"


def passport_country(system: str) -> str | None:
    """The issuing-country segment of a passport system, None for any other system."""
    prefix = PASSPORT + "/"
    return system[len(prefix) :] if system.startswith(prefix) else None


def mrn_system(organization_id: str) -> str:
    """The identifier system of medical record numbers issued by Organization ``organization_id``."""
    return f"{MEDICAL_RECORD_NUMBER}/{organization_id}"

import assert from 'node:assert/strict';
import {
  WORKDAY_DEFAULT_FIELDS,
  mapWorkdayEntry,
  workdayDate,
  workdayEmploymentType,
  workdayFlag,
} from '../../src/activities/hris/workday/mapping';
import { workdayReportUrl } from '../../src/activities/hris/workday/client';
import { webhookEventSchema } from '../../src/domain/employee';

const OPTIONS = {
  locations: { 'Lisbon Office': { countryCode: 'PT', timeZone: 'Europe/Lisbon' } },
  now: () => new Date('2026-03-10T12:00:00Z'),
  updatedAt: '2026-03-10T12:00:00.000Z',
};

/** A RaaS `Report_Entry` row: empty columns left out, flags "1"/"0", as Workday's JSON writes them. */
function entry(over: Record<string, unknown> = {}): Record<string, unknown> {
  const e: Record<string, unknown> = {
    Employee_ID: '21001',
    Legal_Name_First_Name: 'Logan',
    Legal_Name_Last_Name: 'McNeil',
    Work_Email: 'logan.mcneil@acme.example',
    Supervisory_Organization: 'Global Support',
    Business_Title: 'Support Engineer',
    Location: 'Lisbon Office',
    Manager_Employee_ID: '21000',
    Worker_Type: 'Employee',
    Employee_Type: 'Regular',
    Active_Status: '1',
    Terminated: '0',
    Hire_Date: '2019-07-01-07:00',
    ...over,
  };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return e;
}

describe('Workday RaaS entry → EmployeeRecord', () => {
  it('maps a report entry with the default columns', () => {
    const r = mapWorkdayEntry(entry(), OPTIONS);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.record, {
      hrId: '21001',
      legalFirstName: 'Logan',
      legalLastName: 'McNeil',
      workEmail: 'logan.mcneil@acme.example',
      department: 'Global Support',
      title: 'Support Engineer',
      location: { name: 'Lisbon Office', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
      managerHrId: '21000',
      employmentType: 'employee',
      status: 'active',
      hireDate: '2019-07-01',
      sourceUpdatedAt: '2026-03-10T12:00:00.000Z',
    });
    assert.ok(webhookEventSchema.safeParse({ eventId: 'x', kind: 'hire', record: r.record }).success);
  });

  it('reads the report author column names through a field map', () => {
    const r = mapWorkdayEntry(
      {
        Worker_ID: 'W-7',
        First: 'Ada',
        Last: 'Lovelace',
        Email: 'ada@acme.example',
        Org: 'R&D',
        Job: 'Analyst',
        Site: 'Lisbon Office',
        Start: '2020-01-06',
        Last_Modified: '2026-03-01T09:30:00.000-08:00',
      },
      {
        ...OPTIONS,
        fields: {
          hrId: 'Worker_ID',
          legalFirstName: 'First',
          legalLastName: 'Last',
          workEmail: 'Email',
          department: 'Org',
          title: 'Job',
          location: 'Site',
          hireDate: 'Start',
          updatedAt: 'Last_Modified',
        },
      },
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.record.hrId, 'W-7');
    assert.equal(r.record.sourceUpdatedAt, '2026-03-01T17:30:00.000Z');
  });

  it('derives status: terminated flag or past termination date, pre-hire, leave, inactive', () => {
    const status = (over: Record<string, unknown>) => {
      const r = mapWorkdayEntry(entry(over), OPTIONS);
      assert.ok(r.ok, JSON.stringify(r));
      return r.record.status;
    };
    assert.equal(status({ Terminated: '1', Active_Status: '0', Termination_Date: '2026-02-27-08:00' }), 'terminated');
    assert.equal(status({ Termination_Date: '2026-03-10' }), 'terminated');
    assert.equal(status({ Termination_Date: '2026-05-01' }), 'active');
    assert.equal(status({ Hire_Date: '2026-04-01', Active_Status: '0' }), 'pre_hire');
    assert.equal(status({ On_Leave: '1' }), 'on_leave');
    assert.equal(status({ Active_Status: '0' }), 'terminated');
    assert.equal(status({ Active_Status: true }), 'active');
  });

  it('turns worker and employee types into employment types, the configured table first', () => {
    assert.equal(workdayEmploymentType('Contingent Worker', 'Contractor'), 'contractor');
    assert.equal(workdayEmploymentType('Contingent Worker', undefined), 'contractor');
    assert.equal(workdayEmploymentType('Employee', 'Intern'), 'intern');
    assert.equal(workdayEmploymentType('Employee', 'Fixed Term'), 'temporary');
    assert.equal(workdayEmploymentType('Employee', 'Regular'), 'employee');
    assert.equal(workdayEmploymentType('Employee', 'Vendor Staff', { 'Vendor Staff': 'contractor' }), 'contractor');
  });

  it('reads RaaS dates and flags', () => {
    assert.equal(workdayDate('2024-01-15-08:00'), '2024-01-15');
    assert.equal(workdayDate('2024-01-15Z'), '2024-01-15');
    assert.equal(workdayDate('2024-01-15T00:00:00.000-08:00'), '2024-01-15');
    assert.equal(workdayDate('01/15/2024'), '01/15/2024'); // left as is: the schema refuses it, naming the column
    assert.deepEqual(['1', '0', 'Yes', 'false', 'maybe', undefined].map(workdayFlag), [
      true,
      false,
      true,
      false,
      undefined,
      undefined,
    ]);
  });

  it('names the report columns, never values, for an entry that cannot be a record', () => {
    const r = mapWorkdayEntry(
      entry({ Work_Email: undefined, Hire_Date: '01/15/2024', Location: 'Atlantis', Legal_Name_Last_Name: undefined }),
      OPTIONS,
    );
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.issues.map((i) => i.field).sort(), [
      'Hire_Date',
      'Legal_Name_Last_Name',
      'Location',
      'Work_Email or Home_Email',
    ]);
    assert.ok(!JSON.stringify(r.issues).includes('Atlantis'));
    assert.ok(!JSON.stringify(r.issues).includes('01/15/2024'));
  });

  it('has a default column for every field and builds the documented RaaS URL', () => {
    assert.ok((Object.values(WORKDAY_DEFAULT_FIELDS) as string[]).every((c) => /^[A-Za-z_]+$/.test(c)));
    assert.equal(
      workdayReportUrl({
        host: 'wd2-impl-services1.workday.com',
        tenant: 'acme',
        owner: 'ISU_Tenure',
        report: 'Tenure Workers',
      }),
      'https://wd2-impl-services1.workday.com/ccx/service/customreport2/acme/ISU_Tenure/Tenure%20Workers',
    );
    assert.throws(() => workdayReportUrl({ host: 'evil.example/x?', tenant: 'a', owner: 'b', report: 'c' }));
  });
});

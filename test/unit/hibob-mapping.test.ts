import assert from 'node:assert/strict';
import { HIBOB_PEOPLE_FIELDS, mapHibobEmployee } from '../../src/activities/hris/hibob/mapping';
import { webhookEventSchema } from '../../src/domain/employee';

const NOW = () => new Date('2026-03-10T12:00:00Z');
const OPTIONS = {
  locations: { Lisbon: { countryCode: 'PT', timeZone: 'Europe/Lisbon' } },
  now: NOW,
  updatedAt: '2026-03-10T12:00:00.000Z',
};

/** An employee as HiBob's people search answers with humanReadable APPEND (machine ids, display twins). */
function employee(over: { work?: object; internal?: object; root?: object; human?: object } = {}) {
  return {
    id: '3332883854254932743',
    firstName: 'Ana',
    surname: 'Silva',
    email: 'ana.silva@acme.example',
    work: {
      department: '1001',
      title: '1002',
      site: '1003',
      reportsTo: { id: '3332883804594373380', displayName: 'Rui Costa', email: 'rui@acme.example' },
      startDate: '2024-02-01',
      ...over.work,
    },
    internal: { status: 'Active', terminationDate: null, lifecycleStatus: 'employed', ...over.internal },
    payroll: { employment: { type: '1004' } },
    humanReadable: {
      work: {
        department: 'Engineering',
        title: 'Engineer',
        site: 'Lisbon',
        reportsTo: 'Rui Costa',
        startDate: '01/02/2024',
      },
      payroll: { employment: { type: 'Full-time' } },
      ...over.human,
    },
    ...over.root,
  };
}

describe('HiBob employee → EmployeeRecord', () => {
  it('asks for exactly the documented field ids', () => {
    for (const f of HIBOB_PEOPLE_FIELDS) assert.match(f, /^\/(root|work|internal|payroll)\/[A-Za-z/]+$/);
  });

  it('maps an active employee: names from the human-readable twin, ids and dates from machine values', () => {
    const r = mapHibobEmployee(employee(), OPTIONS);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.record, {
      hrId: '3332883854254932743',
      legalFirstName: 'Ana',
      legalLastName: 'Silva',
      workEmail: 'ana.silva@acme.example',
      department: 'Engineering',
      title: 'Engineer',
      location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
      managerHrId: '3332883804594373380',
      employmentType: 'employee',
      status: 'active',
      hireDate: '2024-02-01',
      sourceUpdatedAt: '2026-03-10T12:00:00.000Z',
    });
    // The record is one the generic webhook accepts as it is.
    assert.ok(webhookEventSchema.safeParse({ eventId: 'x', kind: 'hire', record: r.record }).success);
  });

  it('derives status from lifecycle, status and dates', () => {
    const status = (over: Parameters<typeof employee>[0]) => {
      const r = mapHibobEmployee(employee(over), OPTIONS);
      assert.ok(r.ok, JSON.stringify(r));
      return r.record.status;
    };
    assert.equal(status({ internal: { terminationDate: '2026-03-10', status: 'Active' } }), 'terminated');
    assert.equal(status({ internal: { terminationDate: '2026-04-30' } }), 'active');
    assert.equal(status({ internal: { status: 'Inactive', lifecycleStatus: 'terminated' } }), 'terminated');
    assert.equal(status({ internal: { status: 'Inactive', lifecycleStatus: undefined } }), 'terminated');
    assert.equal(status({ work: { startDate: '2026-04-01' }, internal: { lifecycleStatus: 'hired' } }), 'pre_hire');
    assert.equal(status({ internal: { lifecycleStatus: 'leave' } }), 'on_leave');
    assert.equal(status({ internal: { lifecycleStatus: 'garden leave' } }), 'on_leave');
  });

  it('keeps a scheduled exit date and reads the employment type', () => {
    const r = mapHibobEmployee(
      employee({
        internal: { terminationDate: '2026-04-30' },
        human: { payroll: { employment: { type: 'Contractor' } } },
      }),
      OPTIONS,
    );
    assert.ok(r.ok);
    assert.equal(r.record.exitDate, '2026-04-30');
    assert.equal(r.record.employmentType, 'contractor');
  });

  it('uses machine values when HiBob sent no human-readable twin, and a default location', () => {
    const e = employee();
    delete (e as { humanReadable?: unknown }).humanReadable;
    const r = mapHibobEmployee(e, {
      ...OPTIONS,
      defaultLocation: { name: 'HQ', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
    });
    assert.ok(r.ok);
    assert.equal(r.record.department, '1001');
    assert.equal(r.record.location.name, 'HQ');
  });

  it('names HiBob fields, never values, for a row that cannot be a record', () => {
    const r = mapHibobEmployee(
      employee({
        root: { email: 'not-an-email', firstName: '  ' },
        work: { startDate: null },
        human: { work: { site: 'Atlantis', department: 'Engineering', title: 'Engineer' } },
      }),
      OPTIONS,
    );
    assert.equal(r.ok, false);
    if (r.ok) return;
    const fields = r.issues.map((i) => i.field).sort();
    assert.deepEqual(fields, ['/root/email', '/root/firstName', '/work/site', '/work/startDate']);
    const text = JSON.stringify(r.issues);
    for (const value of ['not-an-email', 'Atlantis', 'Silva']) assert.ok(!text.includes(value), value);
  });

  it('refuses a bad HiBob id, a missing email and a bad manager id, naming each field', () => {
    const r = mapHibobEmployee(
      employee({ root: { id: 'a/b', email: null }, work: { reportsTo: { id: 'x y' } } }),
      OPTIONS,
    );
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.issues.map((i) => i.field).sort(), ['/root/email', '/root/id', '/work/reportsTo']);
  });
});

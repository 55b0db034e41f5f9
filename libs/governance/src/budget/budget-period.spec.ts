import { budgetWindow } from './budget-period';

describe('budgetWindow', () => {
  it('cuts days and months in UTC', () => {
    expect(budgetWindow('day', new Date('2026-11-30T23:59:59.999Z'))).toEqual({
      period: 'day',
      key: '2026-11-30',
      start: new Date('2026-11-30T00:00:00Z'),
      end: new Date('2026-12-01T00:00:00Z'),
    });
    expect(budgetWindow('month', new Date('2026-11-30T23:59:59.999Z'))).toEqual({
      period: 'month',
      key: '2026-11',
      start: new Date('2026-11-01T00:00:00Z'),
      end: new Date('2026-12-01T00:00:00Z'),
    });
  });

  it('rolls over at midnight UTC, across month and year ends', () => {
    expect(budgetWindow('day', new Date('2026-12-01T00:00:00Z')).key).toBe('2026-12-01');
    expect(budgetWindow('month', new Date('2026-12-31T23:59:59Z')).end).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect(budgetWindow('month', new Date('2027-01-01T00:00:00Z')).key).toBe('2027-01');
    expect(budgetWindow('month', new Date('2028-02-29T12:00:00Z'))).toMatchObject({ start: new Date('2028-02-01T00:00:00Z'), end: new Date('2028-03-01T00:00:00Z') });
  });

  it('ignores the local time zone of the process', () => {
    // 2026-11-30T23:30 in New York is already December 1st in UTC.
    expect(budgetWindow('day', new Date('2026-11-30T23:30:00-05:00')).key).toBe('2026-12-01');
  });
});

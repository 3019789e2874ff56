// The baseline's activity: returns at once.
export const benchActivities = {
  async noop(i: number): Promise<number> {
    return i;
  },
};

export type BenchActivities = typeof benchActivities;

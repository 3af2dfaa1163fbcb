/** Remembers applied provider event ids (bounded), so a repeated callback is a no-op. */
export class SeenEvents {
  private readonly ids: string[];
  constructor(carried: string[] = []) {
    this.ids = [...carried];
  }
  /** True the first time an id is seen. */
  firstTime(id: string): boolean {
    if (this.ids.includes(id)) return false;
    this.ids.push(id);
    if (this.ids.length > 200) this.ids.shift();
    return true;
  }
  snapshot(): string[] {
    return [...this.ids];
  }
}

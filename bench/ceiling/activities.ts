/**
 * The ceiling's local activities. The first does one HTTP round trip to the Finpay simulator (as
 * Kasir's registration does one to the provider), the others return at once.
 */
export interface CeilingActivities {
  ceilingStep(step: 'register' | 'pending' | 'settled', id: string): Promise<string>;
}

export function createCeilingActivities(providerUrl: string | undefined): CeilingActivities {
  return {
    async ceilingStep(step, id) {
      if (step === 'register' && providerUrl) {
        // An unknown order: a 404 from the simulator's control router, one round trip and nothing stored.
        const response = await fetch(`${providerUrl}/_sim/orders/${encodeURIComponent(id)}`);
        await response.arrayBuffer();
      }
      return `${step}:${id}`;
    },
  };
}

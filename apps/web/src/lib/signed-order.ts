import { ApiClientError } from "./api-client.ts";

export type SigningStep = "building" | "signing" | "confirming";

/**
 * The wallet flow of every transaction the server builds (pay, extend, register on-chain, payout
 * wallet): fetch the order, have the wallet sign it, submit it. A transaction whose blockhash expired
 * before it landed charged nothing (the server answers EXPIRED naming `transaction`): build a fresh one
 * and ask the wallet once more, never more. Resolves undefined when the order needs no transaction
 * (`transaction` absent: already done on-chain).
 */
export async function signAndSubmit<T>(steps: {
  order(): Promise<{ transaction?: string }>;
  sign(transaction: string): Promise<string>;
  submit(signed: string): Promise<T>;
  onStep?(step: SigningStep): void;
}): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    steps.onStep?.("building");
    const order = await steps.order();
    if (!order.transaction) return undefined;
    steps.onStep?.("signing");
    const signed = await steps.sign(order.transaction);
    steps.onStep?.("confirming");
    try {
      return await steps.submit(signed);
    } catch (failure) {
      if (attempt >= 2 || !(failure instanceof ApiClientError) || failure.code !== "EXPIRED" || failure.field !== "transaction") throw failure;
    }
  }
}

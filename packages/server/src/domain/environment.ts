export const environments = ['sandbox', 'production'] as const;
export type Environment = (typeof environments)[number];

export function isEnvironment(value: string): value is Environment {
  return (environments as readonly string[]).includes(value);
}

export function wrongEnvironmentMessage(serverEnvironment: Environment): string {
  return `This API key belongs to another environment; this server is ${serverEnvironment}.`;
}

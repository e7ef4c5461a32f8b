// CI workflow files for the user's repository, rendered from templates/ci/.

import type { Artifact } from './artifacts.js';
import { headerText } from './artifacts.js';
import { renderTemplate } from './engine.js';
import type { Plan } from './plan.js';

export type CiProvider = 'github' | 'gitlab';

const CI_PATHS: Record<CiProvider, string> = {
  github: '.github/workflows/stackgen-verify.yml',
  gitlab: '.gitlab-ci.yml',
};

/** The workflow that installs the stack's packages and runs `stackgen verify --junit`. */
export function renderCiWorkflow(plan: Plan, provider: CiProvider, specPath: string): Artifact {
  // Packages the examples' probe apps and verify need beyond the stack's own (none today:
  // verify uses the same servers), plus the stack's list from the catalog.
  const packages = [...plan.topology.packages];
  return {
    path: CI_PATHS[provider],
    mode: 0o644,
    component: 'ci',
    content: renderTemplate(`ci/${provider}.yml.hbs`, {
      header: headerText(plan),
      name: plan.name,
      packages,
      specPath,
    }),
  };
}

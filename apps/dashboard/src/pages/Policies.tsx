import { Alert, Button, Code, Group, JsonInput, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import { api, data, Policy, PolicyDraft } from '../api/client';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DiffView } from '../components/DiffView';
import { ProblemList } from '../components/ProblemList';
import { PolicyPreviewPanel } from './PolicyPreviewPanel';
import { PolicyRevisions } from './PolicyRevisions';
import { policyText, policyYaml } from './policyText';
import { QueryState } from '../components/QueryState';

/** The editor's text as a draft: parsed JSON, or why it is not JSON. */
function parseDraft(text: string): { draft: PolicyDraft } | { error: string } {
  try {
    // The server validates the draft (validate, preview, save): the type here is only what is sent.
    return { draft: JSON.parse(text) as PolicyDraft };
  } catch (error) {
    return { error: `The policy is not valid JSON: ${(error as Error).message}` };
  }
}

/** The organization's policy: edit it as JSON, validate, preview and save it; its revisions and their differences. */
export function PoliciesPage() {
  const { org = '' } = useParams();
  const policy = useQuery({ queryKey: ['policy', org], queryFn: () => data(api.GET('/api/v1/policies')) });
  return (
    <Stack>
      <Title order={2}>Policies</Title>
      <Text size="sm" c="dimmed">
        Rules decide who may call which tool: deny wins over approval, approval over allow; then the default effect. Check a draft and preview it as a member or
        key before saving: nothing applies until you save.
      </Text>
      <QueryState query={policy} what="policy" />
      {policy.data && <PolicyEditor key={policy.data.version} org={org} policy={policy.data} />}
      <PolicyRevisions org={org} />
    </Stack>
  );
}

function PolicyEditor({ org, policy }: { org: string; policy: Policy }) {
  const queries = useQueryClient();
  const saved = policyText(policy);
  const [text, setText] = useState(saved);
  const [confirming, setConfirming] = useState(false);
  const parsed = parseDraft(text);
  const draft = 'draft' in parsed ? parsed.draft : null;
  const validate = useMutation({ mutationFn: (body: PolicyDraft) => data(api.POST('/api/v1/policies/validate', { body })) });
  const save = useMutation({
    mutationFn: (body: PolicyDraft) => data(api.PUT('/api/v1/policies', { body })),
    onSuccess: (next) => {
      setConfirming(false);
      notifications.show({ color: 'green', message: `Policy version ${next.version} is in force, for the next call on every replica.` });
      void queries.invalidateQueries({ queryKey: ['policy', org] });
      void queries.invalidateQueries({ queryKey: ['policy-revisions', org] });
    },
  });
  const edit = (value: string) => {
    setText(value);
    validate.reset();
  };
  const managed = policy.configManaged;
  return (
    <Stack>
      <Title order={3}>Rules</Title>
      {managed && (
        <Alert color="blue" title="Managed by the config file">
          <Text size="sm">
            This organization&apos;s policy is defined in the Gatehouse config file (GATEHOUSE_CONFIG), so it cannot be saved here: the next start of the gateway
            would put it back. You can still validate and preview a draft. Change the organization&apos;s entry in the config file and restart the gateway (or ask
            your Gatehouse operator to):
          </Text>
          <Code block mt="sm" aria-label="Config file entry of the policy">
            {policyYaml(org, policy)}
          </Code>
        </Alert>
      )}
      <JsonInput
        label={`Policy (version ${policy.version}) as JSON`}
        description="defaultEffect (allow or deny), rules (name, effect: allow, deny or require_approval, match, approval) and toolClasses"
        value={text}
        onChange={edit}
        autosize
        minRows={10}
        maxRows={30}
        spellCheck={false}
      />
      {'error' in parsed && (
        <Alert color="red" role="alert" title="Not JSON">
          {parsed.error}
        </Alert>
      )}
      {validate.isError && <ProblemList error={validate.error} title="This draft cannot be saved" />}
      {validate.isSuccess && (
        <Alert color="green" role="status" title="The draft is valid">
          {validate.data.rules} {validate.data.rules === 1 ? 'rule' : 'rules'} and {validate.data.toolClasses} tool {validate.data.toolClasses === 1 ? 'class' : 'classes'}.
          Nothing is applied until you save.
        </Alert>
      )}
      <Group>
        <Button variant="default" disabled={!draft} loading={validate.isPending} onClick={() => draft && validate.mutate(draft)}>
          Validate
        </Button>
        <Button disabled={!draft || managed || text === saved} onClick={() => setConfirming(true)}>
          Save…
        </Button>
        <Button variant="subtle" disabled={text === saved} onClick={() => edit(saved)}>
          Discard changes
        </Button>
      </Group>
      <PolicyPreviewPanel org={org} draft={text === saved ? null : draft} />
      <ConfirmDialog
        opened={confirming}
        title={`Save version ${policy.version + 1} of the policy?`}
        message="It applies to the next call of every member, key and assistant, on every replica. The change:"
        confirmLabel="Save policy"
        pending={save.isPending}
        error={save.error}
        onConfirm={() => draft && save.mutate(draft)}
        onClose={() => setConfirming(false)}
      >
        <DiffView before={saved} after={draft ? JSON.stringify(draft, null, 2) : text} label="Change to save" />
      </ConfirmDialog>
    </Stack>
  );
}

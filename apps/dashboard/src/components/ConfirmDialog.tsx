import { Alert, Button, Group, Modal, Text } from '@mantine/core';
import { problemText } from '../api/client';

interface ConfirmDialogProps {
  opened: boolean;
  title: string;
  /** What happens, in words. */
  message: string;
  confirmLabel: string;
  pending: boolean;
  /** The failure of the last attempt, shown in the dialog. */
  error: unknown;
  onConfirm(): void;
  onClose(): void;
}

/** A destructive action asked once more, with what it does and, if it failed, why. */
export function ConfirmDialog({ opened, title, message, confirmLabel, pending, error, onConfirm, onClose }: ConfirmDialogProps) {
  return (
    <Modal opened={opened} onClose={onClose} title={title}>
      <Text size="sm">{message}</Text>
      {error ? (
        <Alert color="red" role="alert" mt="sm">
          {problemText(error)}
        </Alert>
      ) : null}
      <Group justify="flex-end" mt="md">
        <Button variant="default" onClick={onClose}>
          Cancel
        </Button>
        <Button color="red" loading={pending} onClick={onConfirm}>
          {confirmLabel}
        </Button>
      </Group>
    </Modal>
  );
}

import { Alert, Button, Group, Modal, Text } from '@mantine/core';
import type { ReactNode } from 'react';
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
  /** What the action changes, shown under the message (a diff, a list). */
  children?: ReactNode;
}

/** A destructive action asked once more, with what it does and, if it failed, why. */
export function ConfirmDialog({ opened, title, message, confirmLabel, pending, error, onConfirm, onClose, children }: ConfirmDialogProps) {
  return (
    <Modal opened={opened} onClose={onClose} title={title} size={children ? 'xl' : 'md'}>
      <Text size="sm">{message}</Text>
      {children}
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

export {
  defineTask,
  type JobContext,
  type RetryBackoff,
  type RetryPolicy,
  TASK_DEFAULTS,
  type Task,
  type TaskOptions,
  type TaskSchedule,
} from './define-task.ts';
export { isTasksError, TASKS_ERRORS, TasksError, type TasksErrorCode } from './errors.ts';
export { jobIdForKey } from './job-id.ts';
export type { JobEvent, TaskObserver } from './observer.ts';
export { type RunningWorker, type RunWorkerOptions, runWorker } from './run-worker.ts';
export {
  createTaskQueue,
  type DatabaseHandle,
  type DeadLetter,
  type EnqueueOptions,
  type EnqueueResult,
  type Executor,
  type JobEnvelope,
  notifyChannel,
  TASK_QUEUE_DEFAULTS,
  type TaskQueue,
  type TaskQueueOptions,
} from './task-queue.ts';
export { createWorker, WORKER_DEFAULTS, type Worker, type WorkerOptions } from './worker.ts';
